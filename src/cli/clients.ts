// Clients as the provider names them on the command line.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { findClientByName } from '../clients/store.ts'
import { NotFoundError, shown } from './output.ts'

export function noClientNamed (name: string): NotFoundError {
  return new NotFoundError(`No client named "${shown(name)}".`)
}

/** The id of the client with this name; none is a not-found error (exit 1). */
export async function clientIdNamed (db: Kysely<Database>, name: string): Promise<string> {
  const client = await findClientByName(db, name)
  if (client === undefined) throw noClientNamed(name)
  return client.id
}

/** Every client's name by id, for reports that hold client ids. */
export async function clientNames (db: Kysely<Database>): Promise<Map<string, string>> {
  const clients = await db.selectFrom('clients').select(['id', 'name']).execute()
  return new Map(clients.map((client) => [client.id, client.name]))
}
