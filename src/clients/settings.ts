// A client's own settings, set by the provider: its request rate limit, its
// ingest volume limits, its storage quota, its retention and whether it signs its requests.
// Each change and its audit event are one transaction; the clients table's
// trigger announces the change, so every running instance applies it at once.
import { inTransaction, type Db } from '../db/in-transaction.ts'
import { appendAuditEvents, type Actor } from '../audit/store.ts'
import { deriveSigningSecret } from '../signing/secret.ts'
import type { Updateable } from 'kysely'
import type { Client, ClientsTable } from '../db/schema.ts'

export interface ClientLimits {
  /** Requests per rate limit window; null: the service's RATE_LIMIT_MAX. */
  rateLimit?: number | null
  /** Log entries per minute; null: the service's INGEST_RATE_LIMIT. */
  ingestRateLimit?: number | null
  /** Counted bytes of log entries per minute; null: the service's INGEST_BYTES_LIMIT. */
  ingestBytesLimit?: number | null
  /** Counted bytes of stored logs; null: the service's STORAGE_QUOTA_BYTES; 0: no quota. */
  storageQuotaBytes?: number | null
  /** Days logs are kept after their executed_at; null: the service's RETENTION_DAYS. */
  retentionDays?: number | null
  /** The environment of a log that names none, on every ingest route; null: none. */
  defaultEnvironment?: string | null
  /** The status of a log that has none, upper-cased; null: none. */
  defaultStatus?: string | null
}

// Each limit and its column, which is also its name in the audit trail.
const COLUMNS = {
  rateLimit: 'rate_limit',
  ingestRateLimit: 'ingest_rate_limit',
  ingestBytesLimit: 'ingest_bytes_limit',
  storageQuotaBytes: 'storage_quota_bytes',
  retentionDays: 'retention_days',
  defaultEnvironment: 'default_environment',
  defaultStatus: 'default_status'
} as const satisfies Record<keyof ClientLimits, keyof Client>
type LimitColumn = typeof COLUMNS[keyof ClientLimits]

/** Sets the limits given (absent ones stay), audited with what changed. */
export async function setClientLimits (db: Db, clientId: string, limits: ClientLimits, actor: Actor): Promise<void> {
  await inTransaction(db, async (trx) => {
    const before = await trx.selectFrom('clients').select(Object.values(COLUMNS))
      .where('id', '=', clientId).forUpdate().executeTakeFirstOrThrow()
    const changes: Updateable<ClientsTable> = {}
    const details: Record<string, unknown> = {}
    for (const [limit, column] of Object.entries(COLUMNS) as Array<[keyof ClientLimits, LimitColumn]>) {
      const value = limits[limit]
      if (value === undefined || value === before[column]) continue
      // Each setting's value is of its column's type (ClientLimits says so): the record of them cannot.
      ;(changes as Record<LimitColumn, unknown>)[column] = value
      details[column] = { from: before[column], to: value }
    }
    if (Object.keys(details).length === 0) return
    await trx.updateTable('clients').set(changes).where('id', '=', clientId).execute()
    await appendAuditEvents(trx, [{ ...actor, event: 'client.updated', clientId, details }])
  })
}

/** SIGNING_KEY is needed to issue a secret: without it none can be derived, here or in the service. */
export class SigningKeyMissingError extends Error {
  override name = 'SigningKeyMissingError'
  constructor () {
    super('Signing secrets are derived from SIGNING_KEY, which is not set. Set it (at least 32 characters, e.g. the ' +
      'output of `openssl rand -hex 32`) in the environment or .env of both this command and the service.')
  }
}

/**
 * Issues the client a new signing secret and makes it sign its requests. The
 * secret in force before, if any, stops working at once. Returns the secret
 * (derived, never stored: this is the only time it is shown).
 */
export async function issueSigningSecret (db: Db, clientId: string, signingKey: string | undefined, actor: Actor): Promise<{ secret: string, generation: number }> {
  if (signingKey === undefined || signingKey === '') throw new SigningKeyMissingError()
  return await inTransaction(db, async (trx) => {
    const before = await trx.selectFrom('clients').select('signing_generation')
      .where('id', '=', clientId).forUpdate().executeTakeFirstOrThrow()
    const { generation } = await trx.updateTable('clients')
      .set((eb) => ({ signing_secrets_issued: eb('signing_secrets_issued', '+', 1), signing_generation: eb('signing_secrets_issued', '+', 1) }))
      .where('id', '=', clientId)
      .returning('signing_generation as generation').executeTakeFirstOrThrow()
    await appendAuditEvents(trx, [{
      ...actor,
      event: 'client.updated',
      clientId,
      details: { signing: { from: before.signing_generation === null ? 'off' : 'on', to: 'on', secret: before.signing_generation === null ? 'issued' : 'replaced' } }
    }])
    return { secret: deriveSigningSecret(signingKey, clientId, generation!), generation: generation! }
  })
}

/** The client no longer signs (unless API_SIGNING_REQUIRED); its secret stops working. False if it did not sign. */
export async function stopSigning (db: Db, clientId: string, actor: Actor): Promise<boolean> {
  return await inTransaction(db, async (trx) => {
    const stopped = await trx.updateTable('clients').set({ signing_generation: null })
      .where('id', '=', clientId).where('signing_generation', 'is not', null)
      .returning('id').executeTakeFirst()
    if (stopped === undefined) return false
    await appendAuditEvents(trx, [{ ...actor, event: 'client.updated', clientId, details: { signing: { from: 'on', to: 'off' } } }])
    return true
  })
}
