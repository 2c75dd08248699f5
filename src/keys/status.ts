// Whether a stored key is accepted right now, and if not, why.
import { Errors, type HttpError } from '../errors.ts'

/** What a key listing says of each key. */
export const KEY_STATUSES = ['active', 'grace', 'revoked', 'rotated', 'expired'] as const
export type KeyStatus = typeof KEY_STATUSES[number]
/** Why a stored key is refused. */
export type KeyRefusal = Exclude<KeyStatus, 'active' | 'grace'>

export interface KeyTimes {
  revoked_at: Date | null
  expires_at: Date | null
  grace_ends_at: Date | null
}

/** When the key stops working by itself: its expiry, or the end of its rotation grace, whichever comes first. */
export function endOf (key: KeyTimes): Date | null {
  if (key.grace_ends_at === null) return key.expires_at
  if (key.expires_at === null) return key.grace_ends_at
  return key.grace_ends_at < key.expires_at ? key.grace_ends_at : key.expires_at
}

export function refusalOf (key: KeyTimes, now = new Date()): KeyRefusal | undefined {
  if (key.revoked_at !== null && key.revoked_at <= now) return 'revoked'
  // A rotated key's grace never outlasts its own expiry: whichever ends first says why.
  if (key.grace_ends_at !== null && key.grace_ends_at <= now && (key.expires_at === null || key.grace_ends_at < key.expires_at)) return 'rotated'
  if (key.expires_at !== null && key.expires_at <= now) return 'expired'
  return undefined
}

/** What a listing shows: why the key is refused, or whether it is in its rotation grace, or active. */
export function statusOf (key: KeyTimes, now = new Date()): KeyStatus {
  return refusalOf(key, now) ?? (key.grace_ends_at === null ? 'active' : 'grace')
}

export function refusalError (refusal: KeyRefusal): HttpError {
  switch (refusal) {
    case 'revoked': return Errors.revokedKey()
    case 'rotated': return Errors.rotatedKey()
    case 'expired': return Errors.expiredKey()
  }
}
