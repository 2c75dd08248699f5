// The hooks of authentication, in two steps. On request, before any byte of
// the body is read or inflated, the key is resolved (from the cache, or by one
// indexed lookup shared by concurrent requests): a missing, malformed,
// unknown, revoked or expired key, one used from outside its allowlist, or
// one lacking the route's scope is answered at once, and the connection
// closes rather than receive a body nobody will read. Then a preHandler takes
// that resolution (judging the key again only if keys changed meanwhile),
// checks a signed request's signature, and decorates the request with the
// client. Every failure goes to the audit trail, in batches; every
// authenticated request is counted in usage. authenticated.ts installs them.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { AuditEvent } from '../audit/store.ts'
import { Errors, HttpError } from '../errors.ts'
import { isAddressAllowed } from '../keys/allowlist.ts'
import { displayPrefix } from '../keys/format.ts'
import { addressGroup } from '../net/address-group.ts'
import { claimNonce, verifySignature } from '../signing/verify.ts'
import { clientOf } from './client.ts'
import { requiredKey } from './credentials.ts'
import type { AuthenticatedClient, Refusal, Resolution } from './resolver.ts'

export interface Identified {
  apiKey: string
  client: AuthenticatedClient
  /** The resolver's generation when the key was judged: keys changed since if it has moved on. */
  generation: number
}

/**
 * An authentication failure goes to the audit trail, to its client's usage
 * when the key is known, and (when it `counts`) against the address group's
 * failure budget.
 */
function recordFailure (request: FastifyRequest, failure: Refusal, counts: boolean): void {
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
  server.metrics.authFailure(failure.error.code)
  // A refusal with a known client counts in its usage: someone is using its key, or trying to.
  if (failure.clientId !== undefined) server.usage.count(failure.clientId, { auth_failures: 1 })
  if (counts) {
    const group = addressGroup(request.ip)
    server.authThrottle.fail(group)
    server.sharedAuthFailures?.report(group)
  }
}

/**
 * Refuses a request whose key is not an active key it may use here: recorded
 * and counted, or, while the address group is blocked, answered 429 (a
 * refusal during the block does not prolong it). Returns the error to throw.
 */
function refusal (request: FastifyRequest, failure: Refusal): HttpError {
  const wait = request.server.authThrottle.waitFor(addressGroup(request.ip))
  const answered = wait > 0 ? { ...failure, error: Errors.authThrottled(wait) } : failure
  recordFailure(request, answered, wait === 0)
  return answered.error
}

/** A resolved key, admitted from this address, or the error saying why not (recorded). */
function admit (request: FastifyRequest, resolution: Resolution): AuthenticatedClient {
  if (!resolution.ok) throw refusal(request, resolution)
  const client = resolution.client
  if (client.allowedCidrs !== null && !isAddressAllowed(request.ip, client.allowedCidrs)) {
    throw refusal(request, { error: Errors.addressNotAllowed(request.ip), clientId: client.id, keyId: client.keyId, keyPrefix: client.keyPrefix })
  }
  return client
}

/** The client's key may not do what the route does: the client's own request, refused (not an authentication failure). */
function requireScope (request: FastifyRequest, client: AuthenticatedClient): void {
  const scope = request.routeOptions.config.scope
  if (scope !== undefined && scope !== 'any' && !client.scopes.includes(scope)) throw Errors.missingScope(scope)
}

/**
 * Resolves the key: from the cache at once, else from the database, a
 * stranger held to the failed-authentication throttle. Only a key that could
 * be one is ever cached, so its shape is judged on a cache miss alone.
 */
function identifyKey (request: FastifyRequest): Identified | Promise<Identified> {
  const resolver = request.server.keyResolver
  let apiKey: string
  try {
    apiKey = requiredKey(request)
  } catch (error) {
    if (error instanceof HttpError) throw refusal(request, { error })
    throw error
  }
  const generation = resolver.generation
  const cached = resolver.cached(apiKey)
  if (cached !== undefined) return { apiKey, client: admit(request, cached), generation }
  if (!resolver.couldBeKey(apiKey)) throw refusal(request, { error: Errors.malformedKey() })
  return lookUpKey(request, apiKey, generation)
}

async function lookUpKey (request: FastifyRequest, apiKey: string, generation: number): Promise<Identified> {
  const { keyResolver: resolver, authThrottle: throttle } = request.server
  const group = addressGroup(request.ip)
  // Near or past its failure budget, a group's keys are looked up only if
  // they may exist: a real key always gets through, a made-up one costs nothing.
  const hold = throttle.holdFor(group)
  if (hold > 0 && !resolver.mayExist(apiKey)) throw refusal(request, { error: Errors.authThrottled(hold), keyPrefix: displayPrefix(apiKey) })
  const end = throttle.begin(group)
  let resolution: Resolution
  try {
    resolution = await resolver.resolveDetailed(apiKey)
  } finally {
    end()
  }
  return { apiKey, client: admit(request, resolution), generation }
}

function mustSign (request: FastifyRequest, client: AuthenticatedClient): boolean {
  return client.signs || request.server.config.API_SIGNING_REQUIRED
}

/** The key's last use (time and address), written with the next usage flush. */
function recordUse (request: FastifyRequest, client: AuthenticatedClient): void {
  if (!client.development) request.server.usage.recordKeyUse(client.keyId, request.ip)
}

/** Whether the request has a body on its way (which a refusal will not read). */
function hasBody (request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

/**
 * The onRequest hook an authenticated scope installs: the key is judged
 * before any byte of the body is read. From here on the request is its
 * client's, and counts in its usage whatever the answer. A cached key is
 * judged at once, without a promise; only a lookup waits.
 */
export function identify (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  let identified: Identified | Promise<Identified>
  try {
    identified = identifyKey(request)
  } catch (error) {
    refuseIdentified(request, reply, error, done)
    return
  }
  if (identified instanceof Promise) {
    identified.then((resolved) => { acceptIdentified(request, reply, resolved, done) }, (error: unknown) => { refuseIdentified(request, reply, error, done) })
  } else {
    acceptIdentified(request, reply, identified, done)
  }
}

function acceptIdentified (request: FastifyRequest, reply: FastifyReply, identified: Identified, done: HookHandlerDoneFunction): void {
  try {
    request.identified = identified
    // A use of the key, whatever comes of the request; a signed one only once its signature is checked.
    if (!mustSign(request, identified.client)) recordUse(request, identified.client)
    requireScope(request, identified.client)
  } catch (error) {
    refuseIdentified(request, reply, error, done)
    return
  }
  done()
}

function refuseIdentified (request: FastifyRequest, reply: FastifyReply, error: unknown, done: HookHandlerDoneFunction): void {
  // Reading (or inflating) a body only to discard it is work for whoever sent it: the connection closes after the answer.
  if (hasBody(request)) reply.header('connection', 'close')
  done(error as Error)
}

/**
 * The preHandler an authenticated scope installs: the client the key was
 * resolved to on request (judged again if keys changed while the body
 * arrived, or the key's time ran out), its signature checked, decorates the request.
 */
export function authenticate (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const identified = request.identified
  // identify() ran first, in the same scope, or the request was answered already.
  if (identified === null) throw Errors.missingKey()
  const client = identified.client
  if (request.server.keyResolver.generation === identified.generation && (client.keyEndsAt === null || client.keyEndsAt > new Date())) {
    authenticated(request, identified, client)
    done()
    return
  }
  judgeAgain(request, identified).then((client) => {
    try {
      authenticated(request, identified, client)
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  }, done)
}

/** A key judged when the request arrived, judged again: keys changed since, or its time ran out. */
async function judgeAgain (request: FastifyRequest, identified: Identified): Promise<AuthenticatedClient> {
  let client: AuthenticatedClient
  try {
    client = admit(request, await request.server.keyResolver.resolveDetailed(identified.apiKey))
  } catch (error) {
    // Refused as an authentication failure (recorded as such), no longer the client's request.
    request.identified = null
    throw error
  }
  requireScope(request, client)
  return client
}

function authenticated (request: FastifyRequest, identified: Identified, client: AuthenticatedClient): void {
  if (mustSign(request, client)) {
    checkSignature(request, identified.apiKey, client)
    recordUse(request, client)
  }
  request.client = client
  request.log = request.log.child({ client_id: client.id, key_id: client.keyId })
}

/**
 * A signing client's failure is audited, counted and throttled like a bad
 * key: an authentication failure, not the client's own request.
 */
function recordSigningFailure (request: FastifyRequest, client: AuthenticatedClient, error: unknown): void {
  if (error instanceof HttpError && error.statusCode === 401) {
    recordFailure(request, { error, clientId: client.id, keyId: client.keyId, keyPrefix: client.keyPrefix }, true)
    request.identified = null
    request.client = null
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
export function claimSignedNonce (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const signed = request.signedNonce
  if (signed === null) {
    done()
    return
  }
  const client = clientOf(request)
  claimNonce(request.server.nonces, client.id, signed).then(() => { done() }, (error: unknown) => {
    recordSigningFailure(request, client, error)
    done(error as Error)
  })
}

/**
 * The onResponse hook an authenticated scope installs: every answer to a
 * request whose key was accepted counts in its client's usage (a body the
 * service refused, a missing scope and a rate limit included).
 */
export function countRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const client = request.client ?? request.identified?.client
  if (client != null) {
    const status = reply.statusCode
    request.server.usage.count(client.id, {
      requests: 1,
      rejected_requests: status >= 400 ? 1 : 0,
      rate_limited: status === 429 ? 1 : 0
    })
  }
  done()
}
