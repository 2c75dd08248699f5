// The webhook routes' schemas: validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox'
import { KEY_NAME_MAX } from '../keys/names.ts'
import { MAX_URL_LENGTH } from './destination.ts'
import { WEBHOOK_EVENTS, type WebhookEventType } from './events.ts'

const Time = Type.String({ format: 'date-time' })
const NullableTime = Type.Union([Time, Type.Null()])
const EventType = Type.Unsafe<WebhookEventType>({ type: 'string', enum: [...WEBHOOK_EVENTS] })

export const WebhookView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  events: Type.Array(Type.String(), { description: 'The event types the endpoint receives.' }),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: Time
}, { $id: 'WebhookView', description: 'A webhook endpoint of the caller\'s client, never its secret.' })

const WebhookRef = Type.Unsafe<Static<typeof WebhookView>>(Type.Ref('WebhookView'))

export const WebhookList = Type.Object({ data: Type.Array(WebhookRef) })

export const WebhookIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

export const CreateWebhookBody = Type.Object({
  url: Type.String({
    minLength: 1,
    maxLength: MAX_URL_LENGTH,
    description: 'Where events are POSTed: https, on a public address (400 invalid_webhook_url otherwise). A Slack incoming ' +
      'webhook URL works as is.'
  }),
  events: Type.Optional(Type.Array(EventType, { minItems: 1, uniqueItems: true, description: 'Default: every event type.' })),
  description: Type.Optional(Type.String({ minLength: 1, maxLength: KEY_NAME_MAX, description: 'A label for people: one line of printable text.' }))
}, { additionalProperties: false })

export const CreatedWebhook = Type.Object({
  secret: Type.String({ description: 'The signing secret of Webhook-Signature, shown this once.' }),
  webhook: WebhookRef
})

export const DeletedWebhook = Type.Object({ webhook: WebhookRef, deleted: Type.Boolean() })

export const DeliveriesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 })
}, { additionalProperties: false })

export const DeliveryView = Type.Object({
  event_id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  status: Type.Unsafe<'pending' | 'delivered' | 'failed'>({
    type: 'string',
    enum: ['pending', 'delivered', 'failed'],
    description: 'pending: to be tried (again) at next_attempt_at; failed: given up after its last attempt.'
  }),
  attempts: Type.Integer(),
  last_status: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of the last attempt; null: no answer.' }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  next_attempt_at: NullableTime,
  delivered_at: NullableTime,
  created_at: Time
})

export const DeliveryList = Type.Object({ data: Type.Array(DeliveryView) })

export type WebhookViewBody = Static<typeof WebhookView>
export type WebhookListBody = Static<typeof WebhookList>
export type CreatedWebhookBody = Static<typeof CreatedWebhook>
export type DeletedWebhookBody = Static<typeof DeletedWebhook>
export type DeliveryListBody = Static<typeof DeliveryList>
