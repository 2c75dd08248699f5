// Secrets the service makes for itself, stored once and shared by every
// instance on the same database, so they survive restarts.
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

export async function serviceSecret (db: Kysely<Database>, name: string): Promise<Buffer> {
  await db.insertInto('service_secrets').values({ name, secret: randomBytes(32) })
    .onConflict((oc) => oc.column('name').doNothing()).execute()
  const row = await db.selectFrom('service_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow()
  return row.secret
}
