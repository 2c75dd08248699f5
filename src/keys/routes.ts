// Self-service keys (needs keys:manage): a client lists, creates, rotates,
// changes and revokes its own keys. Every lookup is by the caller's client id,
// so another client's key id is a 404, exactly like an id that does not exist.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Actor } from '../audit/store.ts'
import { Errors } from '../errors.ts'
import { bodyAjv, textAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { InvalidCidrError, isAddressAllowed, isRangeWithin, normalizeAllowlist } from './allowlist.ts'
import { KeyNotFoundError, RotationRefusedError, type KeyGuard } from './lifecycle.ts'
import { keyNameProblem } from './names.ts'
import { presentKey } from './present.ts'
import { DEFAULT_SCOPES, type Scope } from './scopes.ts'
import { keysOf } from './tenant-keys.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import type { KeyInfo } from './store.ts'
import { clientOf } from '../auth/client.ts'
import {
  CreatedKey, CreateKeyBody, KeyIdParams, KeyList, KeyListQuery, KeyView, NoQuery, RevokedKey, RevokeQuery, RotatedKey, RotateKeyBody,
  UpdateKeyBody, UpdateKeyQuery
} from './schemas.ts'

function actorOf (request: FastifyRequest): Actor {
  return { actor: `key:${clientOf(request).keyId}`, address: request.ip }
}

// Postgres reads an id in any case; the guard against acting on one's own key must too.
function isOwnKey (request: FastifyRequest, keyId: string): boolean {
  return keyId.toLowerCase() === clientOf(request).keyId.toLowerCase()
}

/** The scopes of these that the caller lacks. */
function scopesBeyondCaller (request: FastifyRequest, scopes: readonly string[]): string[] {
  return scopes.filter((scope) => !(clientOf(request).scopes as readonly string[]).includes(scope))
}

/** A key cannot hand out more than it holds: the scopes of the key to create that the caller lacks. */
function refuseScopesBeyondCaller (request: FastifyRequest, scopes: readonly string[]): void {
  const beyond = scopesBeyondCaller(request, scopes)
  if (beyond.length > 0) throw Errors.scopesNotGrantable(beyond)
}

// A key that could make keys beyond its own limits would let a leaked,
// restricted or expiring key turn itself into an unrestricted, permanent one.
// So what the caller makes or changes lives no longer than the caller and is
// reachable from no address the caller is not; and a key already replaced
// (in its rotation grace) manages nothing but its own revocation.

function refuseKeyInGrace (request: FastifyRequest): void {
  if (clientOf(request).inGrace) throw Errors.keyInGrace()
}

/** The latest a key made by the caller may expire: when the caller stops working. */
function notAfterCaller (request: FastifyRequest, wanted: Date | null): Date | null {
  const end = clientOf(request).keyEndsAt
  return end !== null && (wanted === null || wanted > end) ? end : wanted
}

/**
 * An allowlist for a key the caller makes or changes, within the caller's own:
 * `undefined` (not given) becomes the caller's for a new key; anything wider
 * than the caller's is refused.
 */
function allowlistWithinCaller (request: FastifyRequest, ranges: string[] | null | undefined, creating: boolean): string[] | null | undefined {
  if (clientOf(request).allowedCidrs === null) return ranges
  if (ranges === undefined) return creating ? clientOf(request).allowedCidrs : undefined
  const outside = rangesBeyondCaller(request, ranges)
  if (outside === null || outside.length > 0) throw Errors.allowlistNotGrantable(outside)
  return ranges
}

/** The ranges of an allowlist that reach outside the caller's own: null for no allowlist at all (any address) where the caller has one. */
function rangesBeyondCaller (request: FastifyRequest, ranges: string[] | null): string[] | null {
  const own = clientOf(request).allowedCidrs
  if (own === null) return []
  if (ranges === null) return null
  return ranges.filter((range) => !isRangeWithin(range, own))
}

function allowlistOf (ranges: string[] | null | undefined): string[] | null | undefined {
  if (ranges === undefined || ranges === null) return ranges
  try {
    return normalizeAllowlist(ranges)
  } catch (error) {
    if (error instanceof InvalidCidrError) throw Errors.invalidAllowlist(error.message)
    throw error
  }
}

/**
 * The one rule for acting on an existing key (rotating, changing or revoking
 * it): a key reaches only keys no stronger than itself, that is keys whose
 * every scope it holds and, when it is fenced in by an allowlist, keys fenced
 * within it. Otherwise a lesser key could shut the tenant's admin key out or
 * revoke its readers; and a rotation, which hands out a new key like the old
 * one, would give the caller a key it could never have been given. Lifetimes
 * are not compared: an admin key that expires in 90 days must still be able
 * to revoke a key that never does. A key always reaches itself. Checked on
 * the locked row, inside the change.
 */
function withinCallersReach (request: FastifyRequest): KeyGuard {
  return (target) => {
    const lacking = scopesBeyondCaller(request, target.scopes)
    if (lacking.length > 0) throw Errors.keyBeyondScopes(lacking)
    const outside = rangesBeyondCaller(request, target.allowed_cidrs)
    if (outside === null || outside.length > 0) throw Errors.keyBeyondAllowlist(outside)
  }
}

/** A name as given in a body (absent or null: none), refused when it could disguise what a terminal shows. */
function checkedName<T extends string | null | undefined> (name: T): T {
  const found = typeof name === 'string' ? keyNameProblem(name) : undefined
  if (found !== undefined) throw Errors.invalidName('name', found)
  return name
}

/** The lifecycle's refusals as HTTP answers. */
async function answering<T> (work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof KeyNotFoundError) throw Errors.notFound('Key')
    if (error instanceof RotationRefusedError) {
      throw Errors.conflict(error.reason === 'already_rotated' ? 'key_already_rotated' : 'key_not_active', error.message,
        { key_id: error.keyId, status: error.status, replaced_by: error.replacedBy })
    }
    throw error
  }
}

// A POST whose options all have defaults may come without a body. Only a body
// that is absent reads as {}: a JSON null is a body, and is validated (and
// refused) as sent.
async function noBodyIsEmptyObject (request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {}
}

const keysRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema))
  fastify.addSchema(KeyView)
  // Other instances drop a changed key from their caches when its change
  // notification arrives; this one must not answer from its cache meanwhile,
  // or a key revoked (or shut out) a moment ago would still be accepted here.
  const forget = (keyId: string): void => { fastify.keyResolver.forget(keyId) }
  const view = (request: FastifyRequest, key: KeyInfo) => ({ ...presentKey(key), current: key.id === clientOf(request).keyId })

  fastify.get('/api/v1/keys', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'List the caller\'s keys (never the keys themselves), oldest first, a page at a time',
      description: `limit keys a page (default 100): follow next_cursor until it is null. ${queryLimitsDescription(fastify.config)}`,
      querystring: KeyListQuery,
      response: { 200: KeyList, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { limit, cursor } = request.query
    const page = await fastify.queries.run(request, async (db) => await keysOf(db, clientOf(request)).page({ after: cursor, limit }))
    if (page === undefined) throw Errors.invalidCursor('it names none of this client\'s keys')
    const last = page.keys.at(-1)
    return { data: page.keys.map((key) => view(request, key)), next_cursor: page.more && last !== undefined ? last.id : null }
  })

  fastify.get('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'One of the caller\'s keys',
      params: KeyIdParams,
      querystring: NoQuery,
      response: { 200: KeyView, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const key = await keysOf(fastify.db, clientOf(request)).find(request.params.id)
    if (key === undefined) throw Errors.notFound('Key')
    return view(request, key)
  })

  fastify.post('/api/v1/keys', {
    config: { scope: 'keys:manage' },
    preValidation: noBodyIsEmptyObject,
    schema: {
      tags: ['keys'],
      summary: 'Create a key for the caller\'s client; the key is in the answer, once',
      querystring: NoQuery,
      body: CreateKeyBody,
      response: { 201: CreatedKey, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request, reply) => {
    const body = request.body
    const name = checkedName(body.name)
    refuseKeyInGrace(request)
    const scopes: Scope[] = body.scopes ?? DEFAULT_SCOPES
    refuseScopesBeyondCaller(request, scopes)
    const { apiKey, info } = await keysOf(fastify.db, clientOf(request)).create({
      scopes,
      name: name ?? null,
      expiresAt: notAfterCaller(request, body.expires_in_seconds === undefined ? null : new Date(Date.now() + body.expires_in_seconds * 1000)),
      allowedCidrs: allowlistWithinCaller(request, allowlistOf(body.allowed_cidrs), true) ?? null
    }, actorOf(request))
    fastify.keyResolver.learn(apiKey)
    reply.code(201)
    return { api_key: apiKey, key: view(request, info) }
  })

  fastify.post('/api/v1/keys/:id/rotate', {
    config: { scope: 'keys:manage' },
    preValidation: noBodyIsEmptyObject,
    schema: {
      tags: ['keys'],
      summary: 'Replace a key with a new one; the old one keeps working for grace_seconds',
      description: 'The new key keeps the old one\'s scopes, name and allowlist, so the calling key must hold every scope of the key it ' +
        'rotates (403 scope_not_grantable) and, if it has an allowlist, the key must be allowed only within it (403 allowlist_not_grantable).',
      params: KeyIdParams,
      querystring: NoQuery,
      body: RotateKeyBody,
      response: { 201: RotatedKey, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request, reply) => {
    const body = request.body
    const expiresIn = body.expires_in_seconds
    refuseKeyInGrace(request)
    const rotation = await answering(async () => await keysOf(fastify.db, clientOf(request)).rotate({
      keyId: request.params.id,
      guard: withinCallersReach(request),
      graceSeconds: body.grace_seconds,
      notAfter: notAfterCaller(request, null),
      ...(expiresIn === undefined ? {} : { expiresAt: expiresIn === null ? null : new Date(Date.now() + expiresIn * 1000) })
    }, actorOf(request)))
    forget(rotation.previous.id)
    fastify.keyResolver.learn(rotation.apiKey)
    reply.code(201)
    return { api_key: rotation.apiKey, key: view(request, rotation.key), previous: view(request, rotation.previous) }
  })

  fastify.patch('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Rename a key or set its address allowlist',
      description: 'The calling key must hold every scope of the key it changes (403 scope_not_grantable) and, if it has an ' +
        'allowlist, the key must be allowed only within it (403 allowlist_not_grantable).',
      params: KeyIdParams,
      querystring: UpdateKeyQuery,
      body: UpdateKeyBody,
      response: { 200: KeyView, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request) => {
    const name = checkedName(request.body.name)
    refuseKeyInGrace(request)
    const allowedCidrs = allowlistWithinCaller(request, allowlistOf(request.body.allowed_cidrs), false)
    const own = isOwnKey(request, request.params.id)
    if (own && allowedCidrs != null && !request.query.allow_self && !isAddressAllowed(request.ip, allowedCidrs)) {
      throw Errors.ownKey(`shut this address (${request.ip}) out of`, '?allow_self=true')
    }
    const key = await answering(async () => await keysOf(fastify.db, clientOf(request)).update({
      keyId: request.params.id,
      guard: withinCallersReach(request),
      changes: { name, allowedCidrs }
    }, actorOf(request)))
    forget(key.id)
    return view(request, key)
  })

  fastify.delete('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Revoke a key at once, on every instance',
      description: 'The calling key must hold every scope of the key it revokes (403 scope_not_grantable) and, if it has an ' +
        'allowlist, the key must be allowed only within it (403 allowlist_not_grantable). Revoking the key making the ' +
        'request needs ?allow_self=true; otherwise the answer is 409.',
      params: KeyIdParams,
      querystring: RevokeQuery,
      response: { 200: RevokedKey, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request) => {
    const own = isOwnKey(request, request.params.id)
    if (own && !request.query.allow_self) throw Errors.ownKey('revoke', '?allow_self=true')
    // A replaced key may still revoke itself (ending its grace early), nothing else.
    if (!own) refuseKeyInGrace(request)
    const revocation = await answering(async () => await keysOf(fastify.db, clientOf(request)).revoke({
      keyId: request.params.id,
      guard: withinCallersReach(request)
    }, actorOf(request)))
    forget(revocation.key.id)
    return { key: view(request, revocation.key), revoked: revocation.revoked }
  })
}

export default keysRoutes
