// What a webhook says: the event types, the JSON body every endpoint receives,
// and its `text`, a one-line summary in Slack's markup so that a Slack
// incoming webhook can be an endpoint as it is. A body names keys by id and
// prefix (the non-secret beginning listings show), never by the key or its hash.
import { randomUUID } from 'node:crypto'
import type { KeyInfo } from '../keys/store.ts'

export const WEBHOOK_EVENTS = ['key.created', 'key.rotated', 'key.revoked', 'key.expiring', 'auth.failure_spike'] as const
export type WebhookEventType = typeof WEBHOOK_EVENTS[number]

/** A key as an event shows it. */
export interface EventKey {
  id: string
  prefix: string
  name: string | null
  scopes: string[]
  created_at: string
  expires_at: string | null
}

export interface WebhookPayload {
  /** The event's id: the same on every attempt and every endpoint, for receivers to drop a repeat. */
  id: string
  type: WebhookEventType
  created_at: string
  client: { id: string, name: string }
  data: Record<string, unknown>
  /** For people (and Slack): what happened, in one line. */
  text: string
}

export interface NewWebhookEvent {
  clientId: string
  id: string
  type: WebhookEventType
  payload: WebhookPayload
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null

export function eventKey (key: KeyInfo): EventKey {
  return {
    id: key.id,
    prefix: key.prefix,
    name: key.name,
    scopes: key.scopes,
    created_at: key.created_at.toISOString(),
    expires_at: iso(key.expires_at)
  }
}

/**
 * Text as Slack shows it: `&`, `<` and `>` escaped, so that a key or client
 * name cannot become a link or a mention (`<!channel>`) in the channel.
 * https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function slackEscape (text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

function keyLabel (key: EventKey): string {
  return `\`${key.prefix}…\`${key.name === null ? '' : ` (${slackEscape(key.name)})`}`
}

/** The summary line of an event. */
function textOf (type: WebhookEventType, clientName: string, data: Record<string, unknown>): string {
  const client = `*${slackEscape(clientName)}*`
  const key = data.key as EventKey | undefined
  const by = typeof data.actor === 'string' ? ` by ${slackEscape(data.actor)}` : ''
  switch (type) {
    case 'key.created':
      return `:key: New API key ${keyLabel(key!)} for ${client}${by}; scopes ${key!.scopes.join(', ')}` +
        `${key!.expires_at === null ? '' : `, expires ${key!.expires_at}`}.`
    case 'key.rotated': {
      const replacement = data.replacement as EventKey
      return `:arrows_counterclockwise: API key ${keyLabel(key!)} of ${client} was rotated${by}: replaced by \`${replacement.prefix}…\`; ` +
        `the old key works until ${String(data.grace_ends_at)}. Deploy the new key before then.`
    }
    case 'key.revoked':
      return `:no_entry: API key ${keyLabel(key!)} of ${client} was revoked${by}; requests with it are refused from now on.`
    case 'key.expiring':
      return `:hourglass: API key ${keyLabel(key!)} of ${client} expires at ${key!.expires_at ?? '?'} ` +
        `(in ${String(data.days_before)} day${data.days_before === 1 ? '' : 's'} or less): rotate it before then.`
    case 'auth.failure_spike':
      return `:rotating_light: ${String(data.failures)} failed authentications with the API keys of ${client} ` +
        `in the last ${String(data.window_seconds)} s (reasons: ${Object.entries(data.reasons as Record<string, number>)
          .map(([reason, count]) => `${slackEscape(reason)} ${count}`).join(', ')}).`
  }
}

export function webhookEvent (type: WebhookEventType, client: { id: string, name: string }, data: Record<string, unknown>,
  at = new Date()): NewWebhookEvent {
  const id = randomUUID()
  return {
    clientId: client.id,
    id,
    type,
    payload: { id, type, created_at: at.toISOString(), client: { id: client.id, name: client.name }, data, text: textOf(type, client.name, data) }
  }
}
