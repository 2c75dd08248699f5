// What happens to a key after it is made: created, rotated, revoked, its name
// or allowlist changed. The CLI and the self-service routes both come here, so
// each change, its audit event and its webhook event (the outbox, delivered
// later: a change never waits on an endpoint) are written in one transaction,
// whoever asks. Each change names its scope: an HTTP call its caller's client, so
// that a key of another client is as good as absent; the CLI every client.
import type { Kysely, Transaction, Updateable } from 'kysely'
import { validate as isUuid } from 'uuid'
import type { ApiKeysTable, Database } from '../db/schema.ts'
import { inTransaction, type Db } from '../db/in-transaction.ts'
import { scopedClientId, type ClientScope } from '../db/scope.ts'
import { appendAuditEvents, type Actor, type AuditEvent, type AuditEventType } from '../audit/store.ts'
import { createKey, KEY_INFO_COLUMNS, type KeyInfo, type NewKey } from './store.ts'
import { endOf, refusalOf, statusOf } from './status.ts'
import { appendKeyEvent } from '../webhooks/outbox.ts'
import { eventKey } from '../webhooks/events.ts'

export class KeyNotFoundError extends Error {
  override name = 'KeyNotFoundError'
  readonly keyId: string
  constructor (keyId: string) {
    super(`No key with id "${keyId}".`)
    this.keyId = keyId
  }
}

/** The key cannot be rotated as asked; `reason` says why. */
export class RotationRefusedError extends Error {
  override name = 'RotationRefusedError'
  readonly keyId: string
  readonly reason: 'already_rotated' | 'not_active'
  readonly status: string
  readonly replacedBy: string | null
  constructor (keyId: string, reason: 'already_rotated' | 'not_active', status: string, replacedBy: string | null) {
    super(reason === 'already_rotated'
      ? `Key ${keyId} was already rotated${replacedBy === null ? '' : ` (replaced by ${replacedBy})`}; rotate its replacement instead.`
      : `Key ${keyId} is ${status}; only a key that is still accepted can be rotated.`)
    this.keyId = keyId
    this.reason = reason
    this.status = status
    this.replacedBy = replacedBy
  }
}

export const DEFAULT_GRACE_SECONDS = 86_400
/** A grace is a hand-over, not a second lifetime: a month at most. */
export const MAX_GRACE_SECONDS = 30 * 86_400

/**
 * Asked about the key, locked, before anything is changed: it throws to refuse
 * (and nothing is written). The self-service routes pass one, so that who may
 * act on a key is judged on the row as it is when the change is made.
 */
export type KeyGuard = (key: KeyInfo) => void

/** An audit event about one key: the key's client, id and prefix, never the key. */
function keyEvent (actor: Actor, event: AuditEventType, key: KeyInfo, details?: Record<string, unknown>): AuditEvent {
  return { ...actor, event, clientId: key.client_id, keyId: key.id, keyPrefix: key.prefix, details }
}

/** Changes a key's row and returns it as it now is. */
async function updateKeyRow (trx: Transaction<Database>, key: KeyInfo, set: Updateable<ApiKeysTable>): Promise<KeyInfo> {
  return await trx.updateTable('api_keys').set(set)
    .where('client_id', '=', key.client_id).where('id', '=', key.id)
    .returning(KEY_INFO_COLUMNS).executeTakeFirstOrThrow()
}

/** Which key, within which scope (outside it, a key is as good as absent), and who may act on it. */
export interface KeyTarget {
  keyId: string
  scope: ClientScope
  guard?: KeyGuard
}

/** The key, locked for the rest of the transaction, once its guard has let it through. */
async function lockKey (trx: Transaction<Database>, target: KeyTarget): Promise<KeyInfo> {
  if (!isUuid(target.keyId)) throw new KeyNotFoundError(target.keyId)
  let query = trx.selectFrom('api_keys').select(KEY_INFO_COLUMNS).where('id', '=', target.keyId).forUpdate()
  const clientId = scopedClientId(target.scope)
  if (clientId !== undefined) query = query.where('client_id', '=', clientId)
  const key = await query.executeTakeFirst()
  if (key === undefined) throw new KeyNotFoundError(target.keyId)
  target.guard?.(key)
  return key
}

export async function createKeyWithAudit (db: Db, key: NewKey, actor: Actor): Promise<{ apiKey: string, info: KeyInfo }> {
  return await inTransaction(db, async (trx) => {
    const created = await createKey(trx, key)
    const { scopes, expires_at: expiresAt, allowed_cidrs: allowedCidrs } = created.info
    await appendAuditEvents(trx, [keyEvent(actor, 'key.created', created.info, { scopes, expires_at: expiresAt, allowed_cidrs: allowedCidrs })])
    await appendKeyEvent(trx, 'key.created', created.info, { actor: actor.actor })
    return created
  })
}

export interface RotateOptions extends KeyTarget {
  graceSeconds: number
  /** The new key's expiry; absent: the old key's lifetime again, counted from now (none if it had none). */
  expiresAt?: Date | null
  /** The latest the new key may expire, whatever the above says (a self-service key never outlives its caller). */
  notAfter?: Date | null
  now?: Date
}

export interface Rotation {
  apiKey: string
  key: KeyInfo
  previous: KeyInfo
}

export async function rotateKey (db: Kysely<Database>, options: RotateOptions, actor: Actor): Promise<Rotation> {
  const now = options.now ?? new Date()
  return await db.transaction().execute(async (trx) => {
    const old = await lockKey(trx, options)
    if (old.replaced_by !== null || old.rotated_at !== null) {
      throw new RotationRefusedError(old.id, 'already_rotated', statusOf(old, now), old.replaced_by)
    }
    const refusal = refusalOf(old, now)
    if (refusal !== undefined) throw new RotationRefusedError(old.id, 'not_active', refusal, null)

    const lifetimeMs = old.expires_at === null ? null : old.expires_at.getTime() - old.created_at.getTime()
    const wanted = options.expiresAt !== undefined
      ? options.expiresAt
      : lifetimeMs === null ? null : new Date(now.getTime() + lifetimeMs)
    const notAfter = options.notAfter ?? null
    const expiresAt = notAfter !== null && (wanted === null || wanted > notAfter) ? notAfter : wanted
    const created = await createKey(trx, {
      clientId: old.client_id,
      scopes: old.scopes as NewKey['scopes'],
      name: old.name,
      expiresAt,
      allowedCidrs: old.allowed_cidrs
    })
    const graceEndsAt = new Date(now.getTime() + options.graceSeconds * 1000)
    const previous = await updateKeyRow(trx, old, { rotated_at: now, replaced_by: created.info.id, grace_ends_at: graceEndsAt })
    await appendAuditEvents(trx, [
      keyEvent(actor, 'key.rotated', old, { replaced_by: created.info.id, grace_seconds: options.graceSeconds, grace_ends_at: graceEndsAt.toISOString() }),
      keyEvent(actor, 'key.created', created.info,
        { rotated_from: old.id, scopes: created.info.scopes, expires_at: created.info.expires_at, allowed_cidrs: created.info.allowed_cidrs })
    ])
    // One event for the rotation, naming the replacement: not a key.created beside it, which would tell the same change twice.
    await appendKeyEvent(trx, 'key.rotated', old, {
      replacement: eventKey(created.info),
      grace_seconds: options.graceSeconds,
      grace_ends_at: (endOf(previous) ?? graceEndsAt).toISOString(),
      actor: actor.actor
    })
    return { apiKey: created.apiKey, key: created.info, previous }
  })
}

export interface Revocation {
  key: KeyInfo
  /** False when the key was revoked before: nothing changed and nothing was audited. */
  revoked: boolean
}

export async function revokeKey (db: Kysely<Database>, options: KeyTarget & { now?: Date }, actor: Actor): Promise<Revocation> {
  return await db.transaction().execute(async (trx) => {
    const key = await lockKey(trx, options)
    if (key.revoked_at !== null) return { key, revoked: false }
    const revoked = await updateKeyRow(trx, key, { revoked_at: options.now ?? new Date() })
    await appendAuditEvents(trx, [keyEvent(actor, 'key.revoked', key)])
    await appendKeyEvent(trx, 'key.revoked', revoked, { actor: actor.actor })
    return { key: revoked, revoked: true }
  })
}

export interface KeyChanges {
  name?: string | null
  /** Normalized ranges, or null for any address. */
  allowedCidrs?: string[] | null
}

export async function updateKey (db: Kysely<Database>, options: KeyTarget & { changes: KeyChanges }, actor: Actor): Promise<KeyInfo> {
  return await db.transaction().execute(async (trx) => {
    const key = await lockKey(trx, options)
    const { name, allowedCidrs } = options.changes
    const set = {
      ...(name === undefined ? {} : { name }),
      ...(allowedCidrs === undefined ? {} : { allowed_cidrs: allowedCidrs })
    }
    if (Object.keys(set).length === 0) return key
    const updated = await updateKeyRow(trx, key, set)
    await appendAuditEvents(trx, [keyEvent(actor, 'key.updated', key, {
      ...(name === undefined ? {} : { name: { from: key.name, to: name } }),
      ...(allowedCidrs === undefined ? {} : { allowed_cidrs: { from: key.allowed_cidrs, to: allowedCidrs } })
    })])
    return updated
  })
}
