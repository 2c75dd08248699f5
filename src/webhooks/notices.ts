// Events no change makes, found by looking: keys about to expire (14 days and
// 1 day before, each once) and spikes of failed authentications with one
// client's keys (at most once per window). Each instance looks; the record
// of what was sent (webhook_notices) is written in the same transaction as
// the event, with a statement only one instance can win, so each notice goes
// out once however many look.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { KEY_INFO_COLUMNS } from '../keys/store.ts'
import { eventKey, webhookEvent, type NewWebhookEvent } from './events.ts'
import { appendWebhookEvents } from './outbox.ts'

const DAY_MS = 86_400_000
/** Days before its expiry a key's notices go out, furthest first. */
export const EXPIRY_NOTICE_DAYS = [14, 1] as const

/**
 * The expiry notices due at `now`: for each key still in service (not
 * revoked, not replaced) that expires within 14 days, the nearest notice it
 * has reached, unless that one was sent. A key made 12 hours before its
 * expiry gets the 1-day notice only. Returns the events written.
 */
export async function noticeExpiringKeys (db: Kysely<Database>, now: Date): Promise<number> {
  const furthest = EXPIRY_NOTICE_DAYS[0]
  const keys = await db.selectFrom('api_keys').innerJoin('clients', 'clients.id', 'api_keys.client_id')
    .select(KEY_INFO_COLUMNS.map((column) => `api_keys.${column}` as const)).select('clients.name as client_name')
    .where('api_keys.expires_at', 'is not', null).where('api_keys.revoked_at', 'is', null).where('api_keys.replaced_by', 'is', null)
    .where('api_keys.expires_at', '>', now).where('api_keys.expires_at', '<=', new Date(now.getTime() + furthest * DAY_MS))
    .execute()
  if (keys.length === 0) return 0
  const due = keys.map((key) => {
    const left = key.expires_at!.getTime() - now.getTime()
    const days = [...EXPIRY_NOTICE_DAYS].reverse().find((before) => left <= before * DAY_MS) ?? furthest
    return { key, days, notice: `key.expiring:${days}d:${key.id}` }
  })
  return await db.transaction().execute(async (trx) => {
    const claimed = await trx.insertInto('webhook_notices')
      .values(due.map(({ key, notice }) => ({ client_id: key.client_id, notice, sent_at: now })))
      .onConflict((oc) => oc.columns(['client_id', 'notice']).doNothing())
      .returning(['client_id', 'notice']).execute()
    const sent = new Set(claimed.map((row) => `${row.client_id} ${row.notice}`))
    const events: NewWebhookEvent[] = due.filter(({ key, notice }) => sent.has(`${key.client_id} ${notice}`)).map(({ key, days }) =>
      webhookEvent('key.expiring', { id: key.client_id, name: key.client_name }, {
        key: eventKey(key),
        days_before: days,
        expires_at: key.expires_at!.toISOString()
      }, now))
    await appendWebhookEvents(trx, events)
    return events.length
  })
}

export interface SpikeRule {
  /** Failures within the window that make a spike. */
  threshold: number
  windowSeconds: number
}

/**
 * The failure-spike notices due at `now`: each client with at least
 * `threshold` failed authentications with its keys (refused, revoked,
 * expired or rotated keys, addresses outside an allowlist, bad signatures)
 * in the window before `now`, counted from the audit trail, so every
 * instance's failures add up. A client is told at most once per window.
 * Returns the events written.
 */
export async function noticeFailureSpikes (db: Kysely<Database>, now: Date, rule: SpikeRule): Promise<number> {
  if (rule.threshold === 0) return 0
  const since = new Date(now.getTime() - rule.windowSeconds * 1000)
  const count = sql<string>`sum(coalesce((audit_events.details->>'count')::bigint, 1))`
  const rows = await db.selectFrom('audit_events').innerJoin('clients', 'clients.id', 'audit_events.client_id')
    .select(['audit_events.client_id', 'clients.name', 'audit_events.reason', count.as('failures')])
    .where('audit_events.client_id', 'is not', null).where('audit_events.event', 'in', ['auth.failed', 'key.expired_in_use'])
    .where('audit_events.occurred_at', '>', since).where('audit_events.occurred_at', '<=', now)
    .groupBy(['audit_events.client_id', 'clients.name', 'audit_events.reason'])
    .execute()
  const byClient = new Map<string, { name: string, failures: number, reasons: Record<string, number> }>()
  for (const row of rows) {
    const client = byClient.get(row.client_id!) ?? { name: row.name, failures: 0, reasons: {} }
    client.failures += Number(row.failures)
    const reason = row.reason ?? 'unknown'
    client.reasons[reason] = (client.reasons[reason] ?? 0) + Number(row.failures)
    byClient.set(row.client_id!, client)
  }
  const spikes = [...byClient].filter(([, client]) => client.failures >= rule.threshold)
  let written = 0
  for (const [clientId, client] of spikes) {
    await db.transaction().execute(async (trx) => {
      // Inserted, or moved on when the last one is a window old; otherwise no row, and no event.
      const claimed = await trx.insertInto('webhook_notices').values({ client_id: clientId, notice: 'auth.failure_spike', sent_at: now })
        .onConflict((oc) => oc.columns(['client_id', 'notice']).doUpdateSet({ sent_at: now })
          .where('webhook_notices.sent_at', '<=', since))
        .returning('client_id').executeTakeFirst()
      if (claimed === undefined) return
      await appendWebhookEvents(trx, [webhookEvent('auth.failure_spike', { id: clientId, name: client.name }, {
        failures: client.failures,
        threshold: rule.threshold,
        window_seconds: rule.windowSeconds,
        since: since.toISOString(),
        until: now.toISOString(),
        reasons: client.reasons
      }, now)])
      written++
    })
  }
  return written
}
