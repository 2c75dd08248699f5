// Clients and their API keys in the database. Only a key's SHA-256 is stored;
// the plaintext exists once, in what createKey returns.
import type { ApiKey } from '../db/schema.ts'
import { displayPrefix, generateKey, hashKey } from './format.ts'
import type { Scope } from './scopes.ts'
import { validate as isUuid } from 'uuid'
import type { Db } from '../db/in-transaction.ts'
import { scopedClientId, type ClientScope } from '../db/scope.ts'

/** A key as listings show it: never the key, never its hash. */
export type KeyInfo = Omit<ApiKey, 'key_hash'>

export const KEY_INFO_COLUMNS = [
  'id', 'client_id', 'name', 'prefix', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'last_used_at',
  'last_used_address', 'rotated_at', 'replaced_by', 'grace_ends_at', 'allowed_cidrs'
] as const

export interface NewKey {
  clientId: string
  scopes: Scope[]
  name?: string | null
  expiresAt?: Date | null
  /** Normalized CIDR ranges (see allowlist.ts); null or absent accepts any address. */
  allowedCidrs?: string[] | null
}

export async function createKey (db: Db, key: NewKey): Promise<{ apiKey: string, info: KeyInfo }> {
  const apiKey = generateKey()
  const info = await db.insertInto('api_keys').values({
    client_id: key.clientId,
    name: key.name ?? null,
    prefix: displayPrefix(apiKey),
    key_hash: hashKey(apiKey),
    scopes: key.scopes,
    expires_at: key.expiresAt ?? null,
    allowed_cidrs: key.allowedCidrs ?? null
  }).returning(KEY_INFO_COLUMNS).executeTakeFirstOrThrow()
  return { apiKey, info }
}

/** One key by id, if it is within the scope (a tenant sees its own keys only). */
export async function findKey (db: Db, scope: ClientScope, keyId: string): Promise<KeyInfo | undefined> {
  if (!isUuid(keyId)) return undefined
  let query = db.selectFrom('api_keys').select(KEY_INFO_COLUMNS).where('id', '=', keyId)
  const clientId = scopedClientId(scope)
  if (clientId !== undefined) query = query.where('client_id', '=', clientId)
  return await query.executeTakeFirst()
}

export interface KeyRecord extends KeyInfo {
  client_name: string
  client_rate_limit: number | null
  client_ingest_rate_limit: number | null
  client_ingest_bytes_limit: number | null
  client_storage_quota_bytes: number | null
  client_signing_generation: number | null
  client_default_environment: string | null
  client_default_status: string | null
  /** A development key's own signing secret, from the environment. */
  dev_signing_secret?: string
  key_hash: Buffer
}

/**
 * The one deliberate read of keys without a client: authentication, where the
 * key itself (its hash) is what names the client.
 */
export async function findKeyByHash (db: Db, keyHash: Buffer): Promise<KeyRecord | undefined> {
  return await db.selectFrom('api_keys')
    .innerJoin('clients', 'clients.id', 'api_keys.client_id')
    .select(KEY_INFO_COLUMNS.map((column) => `api_keys.${column}` as const))
    .select(['api_keys.key_hash', 'clients.name as client_name', 'clients.rate_limit as client_rate_limit',
      'clients.ingest_rate_limit as client_ingest_rate_limit', 'clients.ingest_bytes_limit as client_ingest_bytes_limit',
      'clients.storage_quota_bytes as client_storage_quota_bytes', 'clients.signing_generation as client_signing_generation',
      'clients.default_environment as client_default_environment', 'clients.default_status as client_default_status'])
    .where('api_keys.key_hash', '=', keyHash)
    .executeTakeFirst()
}
