// Development keys from the environment, beside the database's keys:
//   API_KEYS='{"<key>": "<client>"}'  or  '{"<key>": {"id", "name", "scopes", "secret_key"}}'
//   API_KEY_<NAME>=<key>:<client id>:<client name>:<signing secret>
// A client given by UUID is that client id; anything else is a client name.
// The clients are created in the database if new, since logs belong to one.
import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { validate as isUuid } from 'uuid'
import type { Client, Database } from '../db/schema.ts'
import { displayPrefix, hashKey } from '../keys/format.ts'
import { DEFAULT_SCOPES, isScope, type Scope } from '../keys/scopes.ts'
import type { KeyRecord } from '../keys/store.ts'
import { unprintableProblem, UNPRINTABLE_RULE } from '../text/unprintable.ts'
import { findOrCreateClient } from '../clients/store.ts'

export class DevKeyError extends Error {
  override name = 'DevKeyError'
}

export interface DevKey {
  apiKey: string
  /** Where it was configured, for messages: `API_KEYS` or `API_KEY_<NAME>`. */
  source: string
  clientId?: string
  clientName?: string
  scopes: Scope[]
  signingSecret?: string
}

function parseScopes (value: unknown, source: string): Scope[] {
  if (value === undefined) return DEFAULT_SCOPES
  if (!Array.isArray(value) || value.length === 0 || !value.every((scope) => typeof scope === 'string' && isScope(scope))) {
    throw new DevKeyError(`${source}: "scopes" must be a non-empty array of logs:write, logs:read, keys:manage.`)
  }
  return [...new Set(value as Scope[])]
}

function optionalString (value: unknown, field: string, source: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string') throw new DevKeyError(`${source}: "${field}" must be a string.`)
  return value
}

function client (idOrName: string | undefined, name: string | undefined, source: string): { clientId?: string, clientName?: string } {
  if (idOrName === undefined && name === undefined) throw new DevKeyError(`${source}: the key names no client (give an id or a name).`)
  if (idOrName !== undefined && isUuid(idOrName)) return { clientId: idOrName.toLowerCase(), clientName: checkedName(name, source) }
  // An id that is not a UUID names the client; a name beside it has nothing left to name.
  return { clientName: checkedName(idOrName ?? name, source) }
}

/** A client's name is shown in the provider's listings: one line of printable text, as everywhere else. */
function checkedName (name: string | undefined, source: string): string | undefined {
  const found = name === undefined ? undefined : unprintableProblem(name)
  // Said by position, not quoted: the message goes to the terminal that starts the service.
  if (found !== undefined) throw new DevKeyError(`${source}: the client name ${found.problem}; ${UNPRINTABLE_RULE} are refused in names.`)
  return name
}

function checkKey (apiKey: string, source: string): void {
  if (apiKey === '' || /\s/.test(apiKey)) throw new DevKeyError(`${source}: a key must be non-empty and hold no whitespace.`)
}

/** Parses API_KEYS (JSON) and every API_KEY_<NAME> variable of the environment. Throws DevKeyError naming the variable. */
export function parseDevKeys (env: Record<string, string | undefined>): DevKey[] {
  const keys: DevKey[] = []
  const json = env.API_KEYS
  if (json !== undefined && json.trim() !== '') {
    let map: unknown
    try {
      map = JSON.parse(json)
    } catch (error) {
      // Only the position: the parser's own message quotes the text around it, keys included.
      const position = /at position (\d+)/.exec((error as Error).message)?.[1]
      throw new DevKeyError(`API_KEYS is not valid JSON${position === undefined ? '' : ` (at character ${Number(position) + 1})`}.`)
    }
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new DevKeyError('API_KEYS must be a JSON object: {"<key>": "<client id or name>"} or {"<key>": {"id", "name", "scopes", "secret_key"}}.')
    }
    for (const [index, [apiKey, value]] of Object.entries(map).entries()) {
      // Named by position: a development key may be short, and any part of it is secret.
      const source = `API_KEYS (entry ${index + 1})`
      checkKey(apiKey, source)
      if (typeof value === 'string') {
        keys.push({ apiKey, source, ...client(value, undefined, source), scopes: DEFAULT_SCOPES })
      } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const spec = value as Record<string, unknown>
        keys.push({
          apiKey,
          source,
          ...client(optionalString(spec.id, 'id', source), optionalString(spec.name, 'name', source), source),
          scopes: parseScopes(spec.scopes, source),
          signingSecret: optionalString(spec.secret_key, 'secret_key', source)
        })
      } else {
        throw new DevKeyError(`${source}: the value must be a client id or name, or an object {"id", "name", "scopes", "secret_key"}.`)
      }
    }
  }
  for (const [variable, value] of Object.entries(env)) {
    if (!/^API_KEY_[A-Z0-9_]+$/.test(variable) || value === undefined || value === '') continue
    const [apiKey = '', id, name, secret, ...rest] = value.split(':')
    if (rest.length > 0) throw new DevKeyError(`${variable} must be key:id:name:secret (at most four fields separated by ":").`)
    checkKey(apiKey, variable)
    keys.push({
      apiKey,
      source: variable,
      ...client(id === '' ? undefined : id, name === '' ? undefined : name, variable),
      scopes: DEFAULT_SCOPES,
      signingSecret: secret === '' ? undefined : secret
    })
  }
  const seen = new Set<string>()
  for (const key of keys) {
    if (seen.has(key.apiKey)) throw new DevKeyError(`${key.source}: the same key is configured twice.`)
    seen.add(key.apiKey)
  }
  return keys
}

/** A stable UUID for a development key (logs record the key that wrote them), derived from its hash. */
export function devKeyId (apiKey: string): string {
  const bytes = createHash('sha256').update('central-logger development key\0').update(apiKey).digest().subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x80 // version 8: custom
  bytes[8] = (bytes[8]! & 0x3f) | 0x80 // RFC 9562 variant
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Makes sure each key's client exists, and returns the keys as the resolver sees them, by key hash (hex). */
export async function loadDevKeys (db: Kysely<Database>, keys: DevKey[]): Promise<Map<string, KeyRecord>> {
  const records = new Map<string, KeyRecord>()
  for (const key of keys) {
    const found = await ensureClient(db, key)
    const keyHash = hashKey(key.apiKey)
    records.set(keyHash.toString('hex'), {
      id: devKeyId(key.apiKey),
      client_id: found.id,
      client_name: found.name,
      client_rate_limit: found.rate_limit,
      client_ingest_rate_limit: found.ingest_rate_limit,
      client_ingest_bytes_limit: found.ingest_bytes_limit,
      client_storage_quota_bytes: found.storage_quota_bytes,
      client_default_environment: found.default_environment,
      client_default_status: found.default_status,
      // A development key with a secret of its own signs with it; one without
      // signs as its client does, if its client signs.
      client_signing_generation: key.signingSecret === undefined ? found.signing_generation : null,
      ...(key.signingSecret === undefined ? {} : { dev_signing_secret: key.signingSecret }),
      name: key.source,
      prefix: displayPrefix(key.apiKey),
      key_hash: keyHash,
      scopes: key.scopes,
      created_at: new Date(0),
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      last_used_address: null,
      rotated_at: null,
      replaced_by: null,
      grace_ends_at: null,
      allowed_cidrs: null
    })
  }
  return records
}

// Read once, at start: a development key keeps its client's settings as they were then.
const CLIENT_COLUMNS = ['id', 'name', 'rate_limit', 'ingest_rate_limit', 'ingest_bytes_limit', 'storage_quota_bytes', 'signing_generation',
  'default_environment', 'default_status'] as const
type DevKeyClient = Pick<Client, typeof CLIENT_COLUMNS[number]>

async function ensureClient (db: Kysely<Database>, key: DevKey): Promise<DevKeyClient> {
  if (key.clientId !== undefined) {
    const byId = await db.selectFrom('clients').select(CLIENT_COLUMNS).where('id', '=', key.clientId).executeTakeFirst()
    if (byId !== undefined) return byId
    const name = key.clientName ?? `dev-${key.clientId.slice(0, 8)}`
    const inserted = await db.insertInto('clients').values({ id: key.clientId, name })
      .onConflict((oc) => oc.column('name').doNothing()).returning(CLIENT_COLUMNS).executeTakeFirst()
    if (inserted === undefined) {
      throw new DevKeyError(`${key.source}: client id ${key.clientId} is new, but the name "${name}" belongs to another client.`)
    }
    return inserted
  }
  return (await findOrCreateClient(db, key.clientName!)).client
}
