// Whether a stored key is accepted right now, and if not, why.
import { Errors, type HttpError } from '../errors.ts'

export type KeyRefusal = 'revoked' | 'expired'

export function refusalOf (key: { revoked_at: Date | null, expires_at: Date | null }, now = new Date()): KeyRefusal | undefined {
  if (key.revoked_at !== null && key.revoked_at <= now) return 'revoked'
  if (key.expires_at !== null && key.expires_at <= now) return 'expired'
  return undefined
}

export function refusalError (refusal: KeyRefusal): HttpError {
  return refusal === 'revoked' ? Errors.revokedKey() : Errors.expiredKey()
}
