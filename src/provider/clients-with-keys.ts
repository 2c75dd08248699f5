// Clients with their keys, for the provider's CLI (`keys list`, `keys verify`):
// every client, or one by name or id.
import type { Client } from '../db/schema.ts'
import type { Db } from '../db/in-transaction.ts'
import { KEY_INFO_COLUMNS, type KeyInfo } from '../keys/store.ts'

export interface ClientWithKeys extends Client {
  keys: KeyInfo[]
}

/** Clients with their keys, oldest key first; all clients, or the one named or with the id. */
export async function listClientsWithKeys (db: Db, which: { clientName?: string, clientId?: string } = {}): Promise<ClientWithKeys[]> {
  let clientsQuery = db.selectFrom('clients').selectAll().orderBy('name')
  if (which.clientName !== undefined) clientsQuery = clientsQuery.where('name', '=', which.clientName)
  if (which.clientId !== undefined) clientsQuery = clientsQuery.where('id', '=', which.clientId)
  const clients = await clientsQuery.execute()
  if (clients.length === 0) return []
  const keys = await db.selectFrom('api_keys').select(KEY_INFO_COLUMNS)
    .where('client_id', 'in', clients.map((client) => client.id))
    .orderBy('created_at').orderBy('id')
    .execute()
  return clients.map((client) => ({ ...client, keys: keys.filter((key) => key.client_id === client.id) }))
}
