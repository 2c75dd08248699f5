// keys list [--client NAME]: clients and their keys, with last use. Never a key.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { listClientsWithKeys } from '../../keys/store.ts'
import { refusalOf } from '../../keys/status.ts'
import { UsageError, type CommandResult } from '../output.ts'

export async function list (db: Kysely<Database>, clientName?: string): Promise<CommandResult> {
  const clients = await listClientsWithKeys(db, { clientName })
  if (clientName !== undefined && clients.length === 0) throw new UsageError(`No client named "${clientName}".`)
  const now = new Date()
  const json = clients.map((client) => ({
    client_id: client.id,
    client_name: client.name,
    created_at: client.created_at.toISOString(),
    keys: client.keys.map((key) => ({
      key_id: key.id,
      key_prefix: key.prefix,
      name: key.name,
      scopes: key.scopes,
      status: refusalOf(key, now) ?? 'active',
      created_at: key.created_at.toISOString(),
      last_used_at: key.last_used_at?.toISOString() ?? null,
      expires_at: key.expires_at?.toISOString() ?? null,
      revoked_at: key.revoked_at?.toISOString() ?? null
    }))
  }))
  const lines: string[] = []
  for (const client of json) {
    lines.push(`${client.client_name}  (${client.client_id}, created ${client.created_at})`)
    if (client.keys.length === 0) lines.push('  no keys')
    for (const key of client.keys) {
      lines.push(`  ${key.key_id}  ${key.key_prefix}…  ${key.status.padEnd(7)}  ${key.scopes.join(',')}` +
        `${key.name === null ? '' : `  "${key.name}"`}  last used ${key.last_used_at ?? 'never'}` +
        `  expires ${key.expires_at ?? 'never'}`)
    }
  }
  return { json: { clients: json }, text: lines.length === 0 ? 'No clients yet: create one with `keys create <client_name>`.' : lines.join('\n') }
}
