// The self-service key routes' schemas: validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox'
import { PageLimit } from '../logs/schemas.ts'
import { MAX_CIDRS } from './allowlist.ts'
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS } from './lifecycle.ts'
import { KEY_NAME_MAX } from './names.ts'
import { SCOPES } from './scopes.ts'
import { KEY_STATUSES, type KeyStatus } from './status.ts'

const Time = Type.String({ format: 'date-time' })
const NullableTime = Type.Union([Time, Type.Null()])
const ScopeName = Type.Unsafe<typeof SCOPES[number]>({ type: 'string', enum: [...SCOPES] })
// A name's characters are checked by the routes (src/keys/names.ts), which
// answer 400 invalid_name naming the character, rather than a bare pattern.
const Name = Type.String({
  minLength: 1,
  maxLength: KEY_NAME_MAX,
  description: 'A label for people: one line of printable text (no control, line-separator or bidirectional formatting ' +
    'characters: 400 invalid_name).'
})
const TEN_YEARS = 10 * 366 * 86_400

const Allowlist = Type.Union([
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: MAX_CIDRS }),
  Type.Null()
], { description: 'CIDR ranges (or single addresses) requests with this key must come from; null accepts any address.' })

export const KeyView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ format: 'uuid' }),
  prefix: Type.String({ description: 'The non-secret beginning of the key, to tell keys apart.' }),
  name: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
  status: Type.Unsafe<KeyStatus>({
    type: 'string',
    enum: [...KEY_STATUSES],
    description: 'grace: rotated, still accepted until grace_ends_at; rotated: rotated and its grace has ended.'
  }),
  created_at: Time,
  last_used_at: NullableTime,
  last_used_address: Type.Union([Type.String(), Type.Null()]),
  expires_at: NullableTime,
  revoked_at: NullableTime,
  rotated_at: NullableTime,
  replaced_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  grace_ends_at: NullableTime,
  allowed_cidrs: Type.Union([Type.Array(Type.String()), Type.Null()]),
  expiring_soon: Type.Boolean({ description: 'Still accepted, but stops working within 14 days.' }),
  current: Type.Boolean({ description: 'This is the key making the request.' })
}, { $id: 'KeyView', description: 'An API key, never the key itself or its hash.' })

// A reference in the OpenAPI document, typed as the view it refers to, so that the bodies below are derived.
const KeyRef = Type.Unsafe<Static<typeof KeyView>>(Type.Ref('KeyView'))

export const KeyList = Type.Object({
  data: Type.Array(KeyRef),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page.' })
})

export const KeyListQuery = Type.Object({
  limit: PageLimit,
  cursor: Type.Optional(Type.String({ format: 'uuid', description: 'next_cursor of the previous page.' }))
}, { additionalProperties: false })

export const KeyIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

// A route that takes no query parameters still declares so: a parameter sent
// to it is a mistake the client should hear about, as on every other route.
export const NoQuery = Type.Object({}, { additionalProperties: false })

export const CreateKeyBody = Type.Object({
  name: Type.Optional(Name),
  scopes: Type.Optional(Type.Array(ScopeName, {
    minItems: 1,
    uniqueItems: true,
    description: 'Default logs:write and logs:read. Only scopes the calling key holds can be granted.'
  })),
  expires_in_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: TEN_YEARS, description: 'The key expires this long after creation.' })),
  allowed_cidrs: Type.Optional(Allowlist)
}, { additionalProperties: false })

export const CreatedKey = Type.Object({
  api_key: Type.String({ description: 'The key itself, shown this once: only its hash is stored.' }),
  key: KeyRef
})

export const RotateKeyBody = Type.Object({
  grace_seconds: Type.Integer({
    minimum: 0,
    maximum: MAX_GRACE_SECONDS,
    default: DEFAULT_GRACE_SECONDS,
    description: 'How long the old key keeps working (never past its own expiry). 0 stops it at once.'
  }),
  expires_in_seconds: Type.Optional(Type.Union([Type.Integer({ minimum: 60, maximum: TEN_YEARS }), Type.Null()], {
    description: 'The new key\'s lifetime; default: the old key\'s lifetime, or none if it had none. null: never expires.'
  }))
}, { additionalProperties: false })

export const RotatedKey = Type.Object({
  api_key: Type.String({ description: 'The new key, shown this once.' }),
  key: KeyRef,
  previous: KeyRef
})

// The allow_self flags are optional (false when absent): Type.Optional keeps OpenAPI from calling them required.
export const RevokeQuery = Type.Object({
  allow_self: Type.Optional(Type.Boolean({ default: false, description: 'Required to revoke the key making the request.' }))
}, { additionalProperties: false })

export const RevokedKey = Type.Object({
  key: KeyRef,
  revoked: Type.Boolean({ description: 'False when the key had been revoked before (nothing changed).' })
})

export const UpdateKeyBody = Type.Object({
  name: Type.Optional(Type.Union([Name, Type.Null()])),
  allowed_cidrs: Type.Optional(Allowlist)
}, { additionalProperties: false, minProperties: 1 })

export const UpdateKeyQuery = Type.Object({
  allow_self: Type.Optional(Type.Boolean({
    default: false,
    description: 'Required to set an allowlist that shuts out the request\'s own address on its own key.'
  }))
}, { additionalProperties: false })

export type CreateKeyBodyType = Static<typeof CreateKeyBody>

/** The answers' bodies as clients receive them. */
export type KeyViewBody = Static<typeof KeyView>
export type KeyListBody = Static<typeof KeyList>
export type CreatedKeyBody = Static<typeof CreatedKey>
export type RotatedKeyBody = Static<typeof RotatedKey>
export type RevokedKeyBody = Static<typeof RevokedKey>
