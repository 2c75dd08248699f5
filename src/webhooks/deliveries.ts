// The outbox's deliveries in the database: events fanned out to their
// destinations, deliveries claimed for an attempt, and the attempt's outcome.
// Every step is safe with several instances at once: rows are taken with FOR
// UPDATE SKIP LOCKED, so an event is fanned out once and a delivery is in
// one instance's hands at a time.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { WebhookPayload } from './events.ts'

/** Events fanned out per transaction. */
const DISPATCH_BATCH = 100

/**
 * Fans out events not yet dispatched: a delivery for each provider URL, and
 * for each of the client's endpoints that takes the event's type. Returns
 * how many events were dispatched.
 */
export async function dispatchEvents (db: Kysely<Database>, providerUrls: readonly string[]): Promise<number> {
  // Most rounds find nothing: asked first without a transaction, that costs one indexed read.
  const waiting = await db.selectFrom('webhook_events').select('id').where('dispatched_at', 'is', null).limit(1).executeTakeFirst()
  if (waiting === undefined) return 0
  return await db.transaction().execute(async (trx) => {
    const events = await trx.selectFrom('webhook_events').select(['client_id', 'id', 'type'])
      .where('dispatched_at', 'is', null).orderBy('created_at').limit(DISPATCH_BATCH)
      .forUpdate().skipLocked().execute()
    if (events.length === 0) return 0
    const clientIds = [...new Set(events.map((event) => event.client_id))]
    const endpoints = await trx.selectFrom('webhook_endpoints').select(['client_id', 'id', 'url', 'events'])
      .where('client_id', 'in', clientIds).execute()
    const rows = events.flatMap((event) => [
      ...providerUrls.map((url) => ({ client_id: event.client_id, event_id: event.id, endpoint_id: null, url })),
      ...endpoints.filter((endpoint) => endpoint.client_id === event.client_id && endpoint.events.includes(event.type))
        .map((endpoint) => ({ client_id: event.client_id, event_id: event.id, endpoint_id: endpoint.id, url: endpoint.url }))
    ])
    if (rows.length > 0) await trx.insertInto('webhook_deliveries').values(rows).execute()
    await trx.updateTable('webhook_events').set({ dispatched_at: sql<Date>`now()` })
      .where(({ eb, refTuple, tuple }) => eb(refTuple('client_id', 'id'), 'in', events.map((event) => tuple(event.client_id, event.id))))
      .execute()
    return events.length
  })
}

export interface ClaimedDelivery {
  client_id: string
  id: number
  event_id: string
  endpoint_id: string | null
  url: string
  /** This attempt's number, from 1. */
  attempts: number
  payload: WebhookPayload
  /** The client endpoint's secret; null for a provider URL. */
  secret: string | null
}

/**
 * Takes up to `limit` due deliveries for an attempt: each is leased for
 * `leaseMs` (its next attempt moved that far on) and its attempt counted, in
 * one statement, so a crash mid-attempt leaves it to be tried again once the
 * lease ends, by this instance or another.
 */
export async function claimDeliveries (db: Kysely<Database>, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows: claimed } = await sql<{ client_id: string, id: number, event_id: string, endpoint_id: string | null, url: string, attempts: number }>`
    WITH due AS (
      SELECT client_id, id FROM webhook_deliveries
      WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries AS d
    SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
    FROM due WHERE d.client_id = due.client_id AND d.id = due.id
    RETURNING d.client_id, d.id, d.event_id, d.endpoint_id, d.url, d.attempts`.execute(db)
  if (claimed.length === 0) return []
  const events = await db.selectFrom('webhook_events').select(['client_id', 'id', 'payload'])
    .where(({ eb, refTuple, tuple }) => eb(refTuple('client_id', 'id'), 'in', claimed.map((row) => tuple(row.client_id, row.event_id))))
    .execute()
  const endpointKeys = claimed.filter((row) => row.endpoint_id !== null).map((row) => [row.client_id, row.endpoint_id!] as const)
  const endpoints = endpointKeys.length === 0
    ? []
    : await db.selectFrom('webhook_endpoints').select(['client_id', 'id', 'secret'])
      .where(({ eb, refTuple, tuple }) => eb(refTuple('client_id', 'id'), 'in', endpointKeys.map(([client, id]) => tuple(client, id))))
      .execute()
  return claimed.flatMap((row) => {
    const event = events.find((found) => found.client_id === row.client_id && found.id === row.event_id)
    if (event === undefined) return []
    const endpoint = row.endpoint_id === null ? undefined : endpoints.find((found) => found.client_id === row.client_id && found.id === row.endpoint_id)
    // An endpoint deleted since the claim takes its deliveries with it: nothing to send.
    if (row.endpoint_id !== null && endpoint === undefined) return []
    return [{ ...row, id: Number(row.id), payload: event.payload as unknown as WebhookPayload, secret: endpoint?.secret ?? null }]
  })
}

export async function markDelivered (db: Kysely<Database>, delivery: ClaimedDelivery, status: number): Promise<void> {
  await db.updateTable('webhook_deliveries')
    .set({ delivered_at: sql<Date>`now()`, last_status: status, last_error: null })
    .where('client_id', '=', delivery.client_id).where('id', '=', delivery.id).execute()
}

/** A failed attempt: tried again after `retryInMs`, or given up when that is null. */
export async function markFailed (db: Kysely<Database>, delivery: ClaimedDelivery, outcome: { status: number | null, error: string },
  retryInMs: number | null): Promise<void> {
  await db.updateTable('webhook_deliveries')
    .set({
      last_status: outcome.status,
      last_error: outcome.error.slice(0, 500),
      ...(retryInMs === null
        ? { failed_at: sql<Date>`now()` }
        : { next_attempt_at: sql<Date>`now() + make_interval(secs => ${retryInMs / 1000})` })
    })
    .where('client_id', '=', delivery.client_id).where('id', '=', delivery.id).execute()
}

/** An attempt cut short by a stop: not counted, and due again at once (on another instance, or after the restart). */
export async function releaseDelivery (db: Kysely<Database>, delivery: ClaimedDelivery): Promise<void> {
  await db.updateTable('webhook_deliveries')
    .set({ attempts: sql<number>`attempts - 1`, next_attempt_at: sql<Date>`now()` })
    .where('client_id', '=', delivery.client_id).where('id', '=', delivery.id).execute()
}

/** Events (with their deliveries) older than `days`, dispatched: the outbox is not an archive. */
export async function pruneEvents (db: Kysely<Database>, days: number): Promise<number> {
  const result = await db.deleteFrom('webhook_events')
    .where('dispatched_at', 'is not', null)
    .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
