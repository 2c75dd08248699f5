// keys verify <api_key> | --client NAME: would the key (or each of the
// client's keys) be accepted right now, and if not, why.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { KeyResolver } from '../../auth/resolver.ts'
import { listClientsWithKeys } from '../../provider/clients-with-keys.ts'
import { refusalOf, statusOf } from '../../keys/status.ts'
import { noClientNamed } from '../clients.ts'
import { shown, when, type CommandResult } from '../output.ts'

const REASONS = {
  revoked: 'revoked',
  rotated: 'rotated, and its grace period has ended',
  expired: 'expired'
}

function allowlistNote (allowedCidrs: string[] | null): string {
  return allowedCidrs === null ? '' : `, only from ${shown(allowedCidrs.join(', '))}`
}

export async function verifyKey (db: Kysely<Database>, apiKey: string): Promise<CommandResult> {
  // The service's own resolution, uncached: the same answer a request would get.
  const resolver = new KeyResolver(db, { ttlMs: 0, max: 1 })
  const resolution = await resolver.resolveDetailed(apiKey.trim())
  if (!resolution.ok) {
    return {
      json: { accepted: false, code: resolution.error.code, reason: resolution.error.message, key_id: resolution.keyId ?? null },
      text: `refused (${resolution.error.code}): ${resolution.error.message}`,
      exitCode: 1
    }
  }
  const client = resolution.client
  return {
    json: {
      accepted: true,
      client_id: client.id,
      client_name: client.name,
      key_id: client.keyId,
      key_prefix: client.keyPrefix,
      scopes: client.scopes,
      allowed_cidrs: client.allowedCidrs,
      ends_at: client.keyEndsAt?.toISOString() ?? null,
      /** Its requests must also be signed (API_SIGNING_REQUIRED aside, which the service alone knows). */
      signs: client.signs
    },
    text: `accepted: key ${client.keyId} (${shown(client.keyPrefix)}…) of client ${shown(client.name)}, scopes ${shown(client.scopes.join(' '))}` +
      `${allowlistNote(client.allowedCidrs)}; works until ${when(client.keyEndsAt)}` +
      (client.signs ? '; its requests must be signed' : '')
  }
}

export async function verifyClient (db: Kysely<Database>, clientName: string): Promise<CommandResult> {
  const [client] = await listClientsWithKeys(db, { clientName })
  if (client === undefined) throw noClientNamed(clientName)
  const now = new Date()
  const keys = client.keys.map((key) => {
    const refusal = refusalOf(key, now)
    return {
      key_id: key.id,
      key_prefix: key.prefix,
      accepted: refusal === undefined,
      status: statusOf(key, now),
      reason: refusal ?? null,
      grace_ends_at: key.grace_ends_at?.toISOString() ?? null,
      allowed_cidrs: key.allowed_cidrs
    }
  })
  const accepted = keys.filter((key) => key.accepted).length
  return {
    json: { client_id: client.id, client_name: client.name, accepted_keys: accepted, keys },
    text: [
      `${shown(client.name)}: ${accepted} of ${keys.length} key(s) accepted`,
      ...keys.map((key) => `  ${key.key_id}  ${shown(key.key_prefix)}…  ` + (key.accepted
        ? `accepted${key.status === 'grace' ? ` until its rotation grace ends at ${key.grace_ends_at ?? ''}` : ''}${allowlistNote(key.allowed_cidrs)}`
        : `refused: ${REASONS[key.reason!]}`))
    ].join('\n'),
    exitCode: accepted > 0 ? 0 : 1
  }
}
