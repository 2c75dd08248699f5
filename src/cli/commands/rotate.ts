// keys rotate <key_id> [--grace 24h] [--expires-in 90d]: a new key for the
// same client, scopes, name and allowlist; the old one keeps working until
// the grace ends (never past its own expiry).
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS, rotateKey } from '../../keys/lifecycle.ts'
import { presentKey } from '../../keys/present.ts'
import { endOf } from '../../keys/status.ts'
import { cliActor, keyIdArgument } from '../actor.ts'
import { durationOption } from '../duration.ts'
import { shown, UsageError, when, type CommandResult } from '../output.ts'
import { EVERY_CLIENT } from '../../provider/every-client.ts'

export interface RotateOptions {
  keyId: string
  grace?: string
  expiresIn?: string
}

/** The grace in seconds: a duration, or 0 / 0s to stop the old key at once. */
export function parseGrace (text: string | undefined): number {
  if (text === undefined) return DEFAULT_GRACE_SECONDS
  // A duration of zero is no duration anywhere else, but here it means something: no grace.
  if (/^0+[smhdw]?$/.test(text.trim())) return 0
  const seconds = durationOption('--grace', text, '24h, 7d or 0 (stop the old key at once)')
  if (seconds > MAX_GRACE_SECONDS) throw new UsageError(`--grace "${text}" is longer than the ${MAX_GRACE_SECONDS / 86_400}d a grace may last.`)
  return seconds
}

export async function rotate (db: Kysely<Database>, options: RotateOptions): Promise<CommandResult> {
  const keyId = keyIdArgument(options.keyId)
  const graceSeconds = parseGrace(options.grace)
  const expiresAt = options.expiresIn === undefined ? undefined : new Date(Date.now() + durationOption('--expires-in', options.expiresIn) * 1000)
  const rotation = await rotateKey(db, { keyId, scope: EVERY_CLIENT, graceSeconds, ...(expiresAt === undefined ? {} : { expiresAt }) }, cliActor())
  const oldEnd = endOf(rotation.previous)
  return {
    json: {
      api_key: rotation.apiKey,
      key: presentKey(rotation.key),
      previous: presentKey(rotation.previous),
      // The end of the grace, or the old key's own expiry when that comes first.
      previous_ends_at: oldEnd?.toISOString() ?? null
    },
    text: [
      `New key id: ${rotation.key.id}`,
      `API key:    ${rotation.apiKey}`,
      '            shown this once only: only its hash is stored',
      `Scopes:     ${rotation.key.scopes.join(' ')}`,
      `Expires:    ${when(rotation.key.expires_at)}`,
      '',
      graceSeconds === 0
        ? `Old key ${rotation.previous.id} (${shown(rotation.previous.prefix)}…) is refused from now on (no grace).`
        : `Old key ${rotation.previous.id} (${shown(rotation.previous.prefix)}…) keeps working until ${when(oldEnd)}, then it is refused.`
    ].join('\n')
  }
}
