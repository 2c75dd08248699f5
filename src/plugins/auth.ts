// Authentication for the routes registered after it in the same scope, in two
// steps: on request, before any body is read, a request without a
// well-formed key is refused (no body parsing, no decompression, no database
// for it); then a preHandler resolves the key to a client, checks the key's
// address allowlist, decorates the request with the client, and checks the
// scope the route names in `config.scope`. Every failure goes to the audit
// trail, in batches; every authenticated request is counted in usage.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuditRecorder } from '../audit/recorder.ts'
import { AuthThrottle } from '../keys/auth-throttle.ts'
import { SharedAuthFailures } from '../keys/shared-auth-failures.ts'
import type { AuditEvent } from '../audit/store.ts'
import { Errors, HttpError } from '../errors.ts'
import { isAddressAllowed } from '../keys/allowlist.ts'
import { loadDevKeys, type DevKey } from '../keys/dev-keys.ts'
import { KeyChangeListener } from '../keys/invalidation.ts'
import { KeyResolver, type AuthenticatedClient, type Refusal } from '../keys/resolver.ts'
import type { Scope } from '../keys/scopes.ts'
import { UsageRecorder } from '../usage/recorder.ts'
import { PostgresNonceStore, RedisNonceStore, type NonceStore } from '../signing/nonces.ts'
import { claimNonce, verifySignature, type SignedNonce } from '../signing/verify.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keyResolver: KeyResolver
    authThrottle: AuthThrottle
    /** With Redis: failed authentications counted across instances. */
    sharedAuthFailures: SharedAuthFailures | undefined
    usage: UsageRecorder
    audit: AuditRecorder
    nonces: NonceStore
  }
  interface FastifyRequest {
    /** The authenticated client; set on every route behind authentication. */
    client: AuthenticatedClient
    /** A signed request's nonce, verified and still to be claimed. */
    signedNonce: SignedNonce | null
  }
  interface FastifyContextConfig {
    /** The scope a key needs for this route. */
    scope?: Scope
  }
}

/**
 * Every Authorization header as sent. Node keeps only the first of several in
 * `request.headers`, so a second one, with another key, would pass unseen.
 */
function authorizationHeaders (request: FastifyRequest): string[] {
  const raw = request.raw.rawHeaders
  const values: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') values.push(raw[i + 1]!)
  return values
}

/** The key from X-API-Key, `Authorization: Bearer` or `Authorization: Api-Key`. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const authorizations = authorizationHeaders(request)
  if (authorizations.some((value) => value !== authorizations[0])) throw Errors.conflictingKeys()
  const fromHeader = request.headers['x-api-key']
  const xApiKey = Array.isArray(fromHeader) ? fromHeader.join(',') : fromHeader
  const authorization = request.headers.authorization
  let fromAuthorization: string | undefined
  if (authorization !== undefined) {
    const match = /^(?:bearer|api-key)[ \t]+(\S*)[ \t]*$/i.exec(authorization)
    // A credential in some other scheme (Basic, Digest) is not ours: say the key is malformed.
    if (match === null) throw Errors.malformedKey()
    fromAuthorization = match[1]
  }
  if (xApiKey !== undefined && fromAuthorization !== undefined && xApiKey !== fromAuthorization) {
    throw Errors.conflictingKeys()
  }
  const key = (xApiKey ?? fromAuthorization)?.trim()
  return key === '' ? undefined : key
}

export interface AuthOptions {
  /** Development keys from the environment (parsed once, when the app is built). */
  devKeys?: DevKey[]
}

export default fp<AuthOptions>(async function auth (fastify, options) {
  const config = fastify.config
  const devKeys = options.devKeys ?? []
  if (devKeys.length > 0) {
    fastify.log.warn({ keys: devKeys.map((key) => key.source) },
      'plaintext development keys are configured in the environment (API_KEYS, API_KEY_<NAME>): do not use them in production')
  }
  const resolver = new KeyResolver(fastify.db, {
    ttlMs: config.KEY_CACHE_TTL_SECONDS * 1000,
    max: config.KEY_CACHE_MAX,
    devKeys: await loadDevKeys(fastify.db, devKeys),
    signingKey: config.SIGNING_KEY
  })
  if (config.API_SIGNING_REQUIRED && (config.SIGNING_KEY ?? '') === '') {
    fastify.log.warn('API_SIGNING_REQUIRED is true but SIGNING_KEY is not set: no stored client can sign, so only ' +
      'development keys with a signing secret are accepted')
  }
  const nonces: NonceStore = fastify.redis === undefined ? new PostgresNonceStore(fastify.db) : new RedisNonceStore(fastify.redis)
  fastify.decorate('nonces', nonces)
  fastify.decorate('keyResolver', resolver)
  const throttleOptions = {
    maxFailures: config.AUTH_FAIL_MAX,
    windowMs: config.AUTH_FAIL_WINDOW_SECONDS * 1000,
    cooldownMs: config.AUTH_FAIL_COOLDOWN_SECONDS * 1000
  }
  const throttle = new AuthThrottle(throttleOptions)
  const shared = fastify.redis === undefined ? undefined : new SharedAuthFailures(fastify.redis, throttle, throttleOptions, fastify.log)
  fastify.decorate('authThrottle', throttle)
  fastify.decorate('sharedAuthFailures', shared)
  if (shared !== undefined) fastify.addHook('onClose', async () => { shared.close() })

  const flushEveryMs = config.USAGE_FLUSH_SECONDS * 1000
  const usage = new UsageRecorder(fastify.db, fastify.log, flushEveryMs)
  const audit = new AuditRecorder(fastify.db, fastify.log, flushEveryMs)
  fastify.decorate('usage', usage)
  fastify.decorate('audit', audit)

  if (config.KEY_CACHE_TTL_SECONDS > 0) {
    const listener = new KeyChangeListener(fastify.databaseUrl, {
      // A key id, or `client:<id>` when a client's own settings changed.
      changed: (id) => { if (id.startsWith('client:')) resolver.forgetClient(id.slice('client:'.length)); else resolver.forget(id) },
      listening: (listening) => { resolver.setCacheTrusted(listening) }
    }, fastify.log)
    await listener.start()
    fastify.addHook('onClose', async () => { await listener.close() })
  }
  // Registered after the database plugin, so these run before the pool closes.
  fastify.addHook('onClose', async () => { await Promise.all([usage.close(), audit.close(), nonces.close()]) })
  fastify.decorateRequest('client', null as unknown as AuthenticatedClient)
  fastify.decorateRequest('signedNonce', null)
}, { name: 'auth', dependencies: ['database', 'redis'] })

function requiredKey (request: FastifyRequest): string {
  const key = presentedKey(request)
  if (key === undefined) throw Errors.missingKey()
  return key
}

/** An authentication failure goes to the audit trail, to its client's usage when the key is known, and counts against the address's failure budget. */
function recordFailure (request: FastifyRequest, failure: Refusal): void {
  const expired = failure.refusal === 'expired' || failure.refusal === 'rotated'
  const event: AuditEvent = {
    event: expired ? 'key.expired_in_use' : 'auth.failed',
    clientId: failure.clientId ?? null,
    keyId: failure.keyId ?? null,
    keyPrefix: failure.keyPrefix ?? null,
    actor: 'service',
    address: request.ip,
    reason: failure.error.code,
    details: { method: request.method, route: request.routeOptions.url ?? null }
  }
  const server = request.server
  server.audit.record(event)
  // A refusal with a known client counts in its usage: someone is using its key, or trying to.
  if (failure.clientId !== undefined) server.usage.count(failure.clientId, { auth_failures: 1 })
  if (failure.error.code !== 'auth_throttled') {
    server.authThrottle.fail(request.ip)
    server.sharedAuthFailures?.report(request.ip)
  }
}

/** The onRequest hook an authenticated scope installs: refuse what cannot be a key before reading the body. */
export async function requireKey (request: FastifyRequest): Promise<void> {
  try {
    // Before anything else about the key: an address cooling off is not heard.
    const wait = request.server.authThrottle.waitFor(request.ip)
    if (wait > 0) throw Errors.authThrottled(wait)
    if (!request.server.keyResolver.couldBeKey(requiredKey(request))) throw Errors.malformedKey()
  } catch (error) {
    if (error instanceof HttpError) recordFailure(request, { error })
    throw error
  }
}

/** The preHandler an authenticated scope installs. */
export async function authenticate (request: FastifyRequest): Promise<void> {
  const apiKey = requiredKey(request)
  const resolution = await request.server.keyResolver.resolveDetailed(apiKey)
  if (!resolution.ok) {
    recordFailure(request, resolution)
    throw resolution.error
  }
  const client = resolution.client
  if (client.allowedCidrs !== null && !isAddressAllowed(request.ip, client.allowedCidrs)) {
    const error = Errors.addressNotAllowed(request.ip)
    recordFailure(request, { error, clientId: client.id, keyId: client.keyId, keyPrefix: client.keyPrefix })
    throw error
  }
  if (client.signs || request.server.config.API_SIGNING_REQUIRED) checkSignature(request, apiKey, client)
  if (!client.development) request.server.usage.recordKeyUse(client.keyId, request.ip)
  request.client = client
  request.log = request.log.child({ client_id: client.id, key_id: client.keyId })
  const scope = request.routeOptions.config.scope
  if (scope !== undefined && !client.scopes.includes(scope)) throw Errors.missingScope(scope)
}

/** A signing client's failure is audited, counted and throttled like a bad key. */
function recordSigningFailure (request: FastifyRequest, client: AuthenticatedClient, error: unknown): void {
  if (error instanceof HttpError && error.statusCode === 401) {
    recordFailure(request, { error, clientId: client.id, keyId: client.keyId, keyPrefix: client.keyPrefix })
  }
}

/** A signed request's signature and timestamp; its nonce is claimed later, by claimSignedNonce. */
function checkSignature (request: FastifyRequest, apiKey: string, client: AuthenticatedClient): void {
  try {
    if (client.signingSecret === null) throw client.signs ? Errors.signingUnavailable() : Errors.signingNotSetUp()
    request.signedNonce = verifySignature(request, { apiKey, secret: client.signingSecret })
  } catch (error) {
    recordSigningFailure(request, client, error)
    throw error
  }
}

/**
 * The last preHandler of an authenticated route, after the client's rate
 * limit: a signed request's nonce is used up here, so one refused for the
 * rate limit neither writes a nonce nor spends it.
 */
export async function claimSignedNonce (request: FastifyRequest): Promise<void> {
  const signed = request.signedNonce
  if (signed === null) return
  const client = request.client
  try {
    await claimNonce(request.server.nonces, client.id, signed)
  } catch (error) {
    recordSigningFailure(request, client, error)
    // Refused as an authentication failure (counted as such above), not answered as the client's request.
    request.client = null as unknown as AuthenticatedClient
    throw error
  }
}

/** The onResponse hook an authenticated scope installs: every answer to a known client counts in its usage. */
export async function countRequest (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.client === null) return
  const status = reply.statusCode
  request.server.usage.count(request.client.id, {
    requests: 1,
    rejected_requests: status >= 400 ? 1 : 0,
    rate_limited: status === 429 ? 1 : 0
  })
}
