// keys list [--client NAME] [--older-than 90d]: clients (their own limits and
// the bytes they store) and their keys, with last use, and the keys that stop
// working within 14 days. Never a key.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { EXPIRING_SOON_DAYS, presentKey, type KeyView } from '../../keys/present.ts'
import { listClientsWithKeys } from '../../provider/clients-with-keys.ts'
import { storedBytesByClient } from '../../logs/stored-bytes.ts'
import { formatBytes } from '../../bytes.ts'
import { endOf } from '../../keys/status.ts'
import { noClientNamed } from '../clients.ts'
import { durationOption } from '../duration.ts'
import { shown, type CommandResult } from '../output.ts'

export interface ListOptions {
  clientName?: string
  /**
   * Only active keys created longer ago than this duration: the keys due for
   * rotation. A key in its rotation grace is left out, since it has been
   * replaced already and cannot be rotated again.
   */
  olderThan?: string
}

type ListedKey = Omit<KeyView, 'id' | 'prefix' | 'client_id'> & { key_id: string, key_prefix: string, ends_at: string | null }

/** When the key stops (or why it has), as the listing's last column says it. */
function lifetime (key: ListedKey): string {
  switch (key.status) {
    case 'grace': return `in rotation grace until ${key.ends_at ?? ''}`
    case 'rotated': return `replaced by ${shown(key.replaced_by ?? '?')}`
    case 'revoked': return `revoked ${key.revoked_at ?? ''}`
    default: return `expires ${key.expires_at ?? 'never'}`
  }
}

function keyLine (key: ListedKey): string {
  return [
    `  ${key.key_id}`,
    `${shown(key.key_prefix)}…`,
    key.status.padEnd(7),
    shown(key.scopes.join(',')),
    ...(key.name === null ? [] : [`"${shown(key.name)}"`]),
    `created ${key.created_at}`,
    `last used ${key.last_used_at === null ? 'never' : key.last_used_at + (key.last_used_address === null ? '' : ` from ${shown(key.last_used_address)}`)}`,
    lifetime(key),
    ...(key.allowed_cidrs === null ? [] : [`allowed from ${shown(key.allowed_cidrs.join(','))}`]),
    ...(key.expiring_soon ? [`[stops within ${EXPIRING_SOON_DAYS} days]`] : [])
  ].join('  ')
}

export async function list (db: Kysely<Database>, options: ListOptions = {}): Promise<CommandResult> {
  const createdBefore = options.olderThan === undefined
    ? undefined
    : new Date(Date.now() - durationOption('--older-than', options.olderThan, '90d, 12w or 24h') * 1000)
  const clients = await listClientsWithKeys(db, { clientName: options.clientName })
  if (options.clientName !== undefined && clients.length === 0) throw noClientNamed(options.clientName)
  const stored = await storedBytesByClient(db)
  const now = new Date()
  const json = clients.map((client) => ({
    client_id: client.id,
    client_name: client.name,
    created_at: client.created_at.toISOString(),
    /** Requests per rate limit window; null: the service's default. */
    rate_limit: client.rate_limit,
    /** Log entries per minute; null: the service's default. */
    ingest_rate_limit: client.ingest_rate_limit,
    /** Counted bytes of log entries per minute; null: the service's default. */
    ingest_bytes_limit: client.ingest_bytes_limit,
    /** Counted bytes of stored logs; null: the service's default; 0: none. */
    storage_quota_bytes: client.storage_quota_bytes,
    /** The counted bytes of the client's stored logs. */
    stored_bytes: stored.get(client.id) ?? 0,
    /** Whether the client must sign its requests (API_SIGNING_REQUIRED aside). */
    signs: client.signing_generation !== null,
    /** The environment and status of a log that says none (keys defaults); null: none. */
    default_environment: client.default_environment,
    default_status: client.default_status,
    keys: client.keys
      .filter((key) => createdBefore === undefined || key.created_at < createdBefore)
      .map((key) => ({ ...presentKey(key, now), ends_at: endOf(key)?.toISOString() ?? null }))
      .filter((key) => createdBefore === undefined || key.status === 'active')
      .map(({ id, prefix, client_id, ...rest }) => ({ key_id: id, key_prefix: prefix, ...rest }))
  })).filter((client) => createdBefore === undefined || client.keys.length > 0)

  const expiringSoon = json.flatMap((client) => client.keys
    .filter((key) => key.expiring_soon)
    .map((key) => ({ client_id: client.client_id, client_name: client.client_name, key_id: key.key_id, key_prefix: key.key_prefix, ends_at: key.ends_at })))

  const lines: string[] = []
  for (const client of json) {
    const quota = client.storage_quota_bytes
    lines.push(`${shown(client.client_name)}  (${client.client_id}, created ${client.created_at}, stores ${client.stored_bytes} bytes` +
      `${quota === null ? '' : quota === 0 ? ', no storage quota' : ` of a ${formatBytes(quota)} quota`}` +
      `${client.rate_limit === null ? '' : `, ${client.rate_limit} requests per window`}` +
      `${client.ingest_rate_limit === null ? '' : `, ${client.ingest_rate_limit} log entries per minute`}` +
      `${client.ingest_bytes_limit === null ? '' : `, ${formatBytes(client.ingest_bytes_limit)} of log entries per minute`}` +
      `${client.signs ? ', signs its requests' : ''}` +
      `${client.default_environment === null ? '' : `, default environment ${shown(client.default_environment)}`}` +
      `${client.default_status === null ? '' : `, default status ${shown(client.default_status)}`})`)
    if (client.keys.length === 0) lines.push('  no keys')
    lines.push(...client.keys.map(keyLine))
  }
  if (expiringSoon.length > 0) {
    lines.push('', `${expiringSoon.length} key(s) stop working within ${EXPIRING_SOON_DAYS} days:`,
      ...expiringSoon.map((key) => `  ${shown(key.client_name)}  ${key.key_id}  ${shown(key.key_prefix)}…  at ${key.ends_at ?? ''}`))
  }
  const empty = createdBefore === undefined
    ? 'No clients yet: create one with `keys create <client_name>`.'
    : `No active key is older than ${options.olderThan ?? ''}.`
  return { json: { clients: json, expiring_soon: expiringSoon }, text: lines.length === 0 ? empty : lines.join('\n') }
}
