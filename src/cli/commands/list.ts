// keys list [--client NAME] [--older-than 90d]: clients and their keys, with
// last use, and the keys that stop working within 14 days. Never a key.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { EXPIRING_SOON_DAYS, presentKey } from '../../keys/present.ts'
import { listClientsWithKeys } from '../../keys/store.ts'
import { endOf } from '../../keys/status.ts'
import { parseDuration } from '../duration.ts'
import { UsageError, type CommandResult } from '../output.ts'

export interface ListOptions {
  clientName?: string
  /** Only keys still accepted and created longer ago than this duration (due for rotation). */
  olderThan?: string
}

export async function list (db: Kysely<Database>, options: ListOptions = {}): Promise<CommandResult> {
  let createdBefore: Date | undefined
  if (options.olderThan !== undefined) {
    const seconds = parseDuration(options.olderThan)
    if (seconds === undefined) throw new UsageError(`--older-than "${options.olderThan}" is not a duration like 90d, 12w or 24h.`)
    createdBefore = new Date(Date.now() - seconds * 1000)
  }
  const clients = await listClientsWithKeys(db, { clientName: options.clientName })
  if (options.clientName !== undefined && clients.length === 0) throw new UsageError(`No client named "${options.clientName}".`)
  const now = new Date()
  const json = clients.map((client) => ({
    client_id: client.id,
    client_name: client.name,
    created_at: client.created_at.toISOString(),
    keys: client.keys
      .filter((key) => createdBefore === undefined || key.created_at < createdBefore)
      .map((key) => ({ ...presentKey(key, now), ends_at: endOf(key)?.toISOString() ?? null }))
      .filter((key) => createdBefore === undefined || key.status === 'active' || key.status === 'grace')
      .map(({ id, prefix, client_id, ...rest }) => ({ key_id: id, key_prefix: prefix, ...rest }))
  })).filter((client) => createdBefore === undefined || client.keys.length > 0)

  const expiringSoon = json.flatMap((client) => client.keys
    .filter((key) => key.expiring_soon)
    .map((key) => ({ client_name: client.client_name, key_id: key.key_id, key_prefix: key.key_prefix, ends_at: key.ends_at })))

  const lines: string[] = []
  for (const client of json) {
    lines.push(`${client.client_name}  (${client.client_id}, created ${client.created_at})`)
    if (client.keys.length === 0) lines.push('  no keys')
    for (const key of client.keys) {
      lines.push(`  ${key.key_id}  ${key.key_prefix}…  ${key.status.padEnd(7)}  ${key.scopes.join(',')}` +
        `${key.name === null ? '' : `  "${key.name}"`}  created ${key.created_at}` +
        `  last used ${key.last_used_at === null ? 'never' : `${key.last_used_at}${key.last_used_address === null ? '' : ` from ${key.last_used_address}`}`}` +
        `  ${key.status === 'grace' ? `grace ends ${key.grace_ends_at ?? ''}` : `expires ${key.expires_at ?? 'never'}`}` +
        `${key.allowed_cidrs === null ? '' : `  allowed from ${key.allowed_cidrs.join(',')}`}` +
        `${key.expiring_soon ? '  [stops within 14 days]' : ''}`)
    }
  }
  if (expiringSoon.length > 0) {
    lines.push('', `${expiringSoon.length} key(s) stop working within ${EXPIRING_SOON_DAYS} days:`,
      ...expiringSoon.map((key) => `  ${key.client_name}  ${key.key_id}  ${key.key_prefix}…  at ${key.ends_at ?? ''}`))
  }
  const empty = createdBefore === undefined
    ? 'No clients yet: create one with `keys create <client_name>`.'
    : `No accepted key is older than ${options.olderThan ?? ''}.`
  return { json: { clients: json, expiring_soon: expiringSoon }, text: lines.length === 0 ? empty : lines.join('\n') }
}
