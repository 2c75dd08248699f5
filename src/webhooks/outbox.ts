// The outbox: webhook events are written by whatever makes them, inside its
// own transaction (a key change with the change, a notice with its record),
// and delivered later by the worker (worker.ts). Writing one never waits on an
// endpoint, and an event is stored exactly when what it tells committed.
import type { Db } from '../db/in-transaction.ts'
import type { KeyInfo } from '../keys/store.ts'
import { eventKey, webhookEvent, type NewWebhookEvent, type WebhookEventType } from './events.ts'

export async function appendWebhookEvents (db: Db, events: NewWebhookEvent[]): Promise<void> {
  if (events.length === 0) return
  await db.insertInto('webhook_events').values(events.map((event) => ({
    client_id: event.clientId,
    id: event.id,
    type: event.type,
    payload: JSON.stringify(event.payload)
  }))).execute()
}

/** An event about one of a client's keys, written in the caller's transaction. */
export async function appendKeyEvent (db: Db, type: WebhookEventType, key: KeyInfo, data: Record<string, unknown> = {}): Promise<void> {
  const client = await db.selectFrom('clients').select(['id', 'name']).where('id', '=', key.client_id).executeTakeFirstOrThrow()
  await appendWebhookEvents(db, [webhookEvent(type, client, { key: eventKey(key), ...data })])
}
