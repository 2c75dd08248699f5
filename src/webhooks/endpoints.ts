// A client's own webhook endpoints in the database: made, listed, deleted,
// each change audited in its transaction. Every function takes the client
// whose endpoints it touches; routes reach them through webhooksOf
// (tenant-webhooks.ts), bound to the caller's client.
import { validate as isUuid } from 'uuid'
import type { Kysely, Selectable } from 'kysely'
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/schema.ts'
import { appendAuditEvents, type Actor } from '../audit/store.ts'
import { generateEndpointSecret } from './signature.ts'

/** Endpoints one client may have: a fan-out of notices, not a message bus. */
export const MAX_ENDPOINTS_PER_CLIENT = 10

export type Endpoint = Omit<Selectable<WebhookEndpointsTable>, 'secret'>
const ENDPOINT_COLUMNS = ['client_id', 'id', 'url', 'events', 'description', 'created_at'] as const

export class TooManyEndpointsError extends Error {
  override name = 'TooManyEndpointsError'
}

export interface NewEndpoint {
  url: string
  events: string[]
  description: string | null
}

export async function listEndpoints (db: Kysely<Database>, clientId: string): Promise<Endpoint[]> {
  return await db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('client_id', '=', clientId)
    .orderBy('created_at').orderBy('id').execute()
}

export async function findEndpoint (db: Kysely<Database>, clientId: string, id: string): Promise<Endpoint | undefined> {
  if (!isUuid(id)) return undefined
  return await db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS)
    .where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst()
}

/** A new endpoint and its signing secret, which exists in plaintext here and in the answer only. */
export async function createEndpoint (db: Kysely<Database>, clientId: string, endpoint: NewEndpoint, actor: Actor):
Promise<{ endpoint: Endpoint, secret: string }> {
  return await db.transaction().execute(async (trx) => {
    // The client's row, locked, so that two requests at once cannot both pass the count.
    await trx.selectFrom('clients').select('id').where('id', '=', clientId).forUpdate().executeTakeFirstOrThrow()
    const { count } = await trx.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<number>().as('count'))
      .where('client_id', '=', clientId).executeTakeFirstOrThrow()
    if (Number(count) >= MAX_ENDPOINTS_PER_CLIENT) throw new TooManyEndpointsError()
    const secret = generateEndpointSecret()
    const created = await trx.insertInto('webhook_endpoints')
      .values({ client_id: clientId, url: endpoint.url, events: endpoint.events, description: endpoint.description, secret })
      .returning(ENDPOINT_COLUMNS).executeTakeFirstOrThrow()
    await appendAuditEvents(trx, [{
      ...actor,
      event: 'webhook.created',
      clientId,
      details: { endpoint_id: created.id, host: new URL(created.url).host, events: created.events }
    }])
    return { endpoint: created, secret }
  })
}

/** Deletes the endpoint (its pending deliveries with it); undefined when the client has none by that id. */
export async function deleteEndpoint (db: Kysely<Database>, clientId: string, id: string, actor: Actor): Promise<Endpoint | undefined> {
  if (!isUuid(id)) return undefined
  return await db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('webhook_endpoints').where('client_id', '=', clientId).where('id', '=', id)
      .returning(ENDPOINT_COLUMNS).executeTakeFirst()
    if (deleted === undefined) return undefined
    await appendAuditEvents(trx, [{
      ...actor,
      event: 'webhook.deleted',
      clientId,
      details: { endpoint_id: deleted.id, host: new URL(deleted.url).host }
    }])
    return deleted
  })
}

export type Delivery = Pick<Selectable<WebhookDeliveriesTable>, 'event_id' | 'attempts' | 'next_attempt_at' | 'delivered_at' |
  'failed_at' | 'last_status' | 'last_error' | 'created_at'> & { type: string }

/** The endpoint's latest deliveries, newest first. */
export async function endpointDeliveries (db: Kysely<Database>, clientId: string, endpointId: string, limit: number): Promise<Delivery[]> {
  return await db.selectFrom('webhook_deliveries')
    .innerJoin('webhook_events', (join) => join.onRef('webhook_events.client_id', '=', 'webhook_deliveries.client_id')
      .onRef('webhook_events.id', '=', 'webhook_deliveries.event_id'))
    .select(['webhook_deliveries.event_id', 'webhook_events.type', 'webhook_deliveries.attempts', 'webhook_deliveries.next_attempt_at',
      'webhook_deliveries.delivered_at', 'webhook_deliveries.failed_at', 'webhook_deliveries.last_status', 'webhook_deliveries.last_error',
      'webhook_deliveries.created_at'])
    .where('webhook_deliveries.client_id', '=', clientId).where('webhook_deliveries.endpoint_id', '=', endpointId)
    .orderBy('webhook_deliveries.id', 'desc').limit(limit).execute()
}
