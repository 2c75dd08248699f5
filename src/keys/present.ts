// A key as the API and the CLI show it: never the key, never its hash.
import type { KeyViewBody } from './schemas.ts'
import type { KeyInfo } from './store.ts'
import { endOf, statusOf } from './status.ts'

/** Keys that stop working within this many days are flagged in listings. */
export const EXPIRING_SOON_DAYS = 14

/** The route schema's key (src/keys/schemas.ts) without `current`, which only a request can tell. */
export type KeyView = Omit<KeyViewBody, 'current'>

const iso = (date: Date | null): string | null => date?.toISOString() ?? null

export function presentKey (key: KeyInfo, now = new Date()): KeyView {
  const status = statusOf(key, now)
  const end = endOf(key)
  const accepted = status === 'active' || status === 'grace'
  return {
    id: key.id,
    client_id: key.client_id,
    prefix: key.prefix,
    name: key.name,
    scopes: key.scopes,
    status,
    created_at: key.created_at.toISOString(),
    last_used_at: iso(key.last_used_at),
    last_used_address: key.last_used_address,
    expires_at: iso(key.expires_at),
    revoked_at: iso(key.revoked_at),
    rotated_at: iso(key.rotated_at),
    replaced_by: key.replaced_by,
    grace_ends_at: iso(key.grace_ends_at),
    allowed_cidrs: key.allowed_cidrs,
    expiring_soon: accepted && end !== null && end.getTime() - now.getTime() <= EXPIRING_SOON_DAYS * 86_400_000
  }
}
