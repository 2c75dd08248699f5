// Clients (tenants) by name: found, or made on first use, for the CLI's
// `create`, the development keys and the tests alike. (A development key that
// names its client by id makes it with that id, in dev-keys.ts.)
import type { Client } from '../db/schema.ts'
import type { Db } from '../db/in-transaction.ts'

export async function findOrCreateClient (db: Db, name: string): Promise<{ client: Client, created: boolean }> {
  const inserted = await db.insertInto('clients').values({ name })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll().executeTakeFirst()
  if (inserted !== undefined) return { client: inserted, created: true }
  const client = await db.selectFrom('clients').selectAll().where('name', '=', name).executeTakeFirstOrThrow()
  return { client, created: false }
}

export async function findClientByName (db: Db, name: string): Promise<Client | undefined> {
  return await db.selectFrom('clients').selectAll().where('name', '=', name).executeTakeFirst()
}
