// Authentication for the routes registered after it in the same scope, in two
// steps: on request, before any body is read, a request without a
// well-formed key is refused (no body parsing, no decompression, no database
// for it); then a preHandler resolves the key to a client, decorates the
// request with it, and checks the scope the route names in `config.scope`.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { Errors } from '../errors.ts'
import { isWellFormedKey } from '../keys/format.ts'
import { LastUseRecorder } from '../keys/last-use.ts'
import { KeyResolver, type AuthenticatedClient } from '../keys/resolver.ts'
import type { Scope } from '../keys/scopes.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keyResolver: KeyResolver
    lastUse: LastUseRecorder
  }
  interface FastifyRequest {
    /** The authenticated client; set on every route behind authentication. */
    client: AuthenticatedClient
  }
  interface FastifyContextConfig {
    /** The scope a key needs for this route. */
    scope?: Scope
  }
}

/** The key from X-API-Key, `Authorization: Bearer` or `Authorization: Api-Key`. */
export function presentedKey (request: FastifyRequest): string | undefined {
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

export default fp(async function auth (fastify) {
  const resolver = new KeyResolver(fastify.db, {
    ttlMs: fastify.config.KEY_CACHE_TTL_SECONDS * 1000,
    max: fastify.config.KEY_CACHE_MAX
  })
  fastify.decorate('keyResolver', resolver)
  const lastUse = new LastUseRecorder(fastify.db, fastify.log)
  fastify.decorate('lastUse', lastUse)
  // Registered after the database plugin, so this runs before the pool closes.
  fastify.addHook('onClose', async () => { await lastUse.close() })
  fastify.decorateRequest('client', null as unknown as AuthenticatedClient)
}, { name: 'auth', dependencies: ['database'] })

function requiredKey (request: FastifyRequest): string {
  const key = presentedKey(request)
  if (key === undefined) throw Errors.missingKey()
  return key
}

/** The onRequest hook an authenticated scope installs: refuse what cannot be a key before reading the body. */
export async function requireKey (request: FastifyRequest): Promise<void> {
  if (!isWellFormedKey(requiredKey(request))) throw Errors.malformedKey()
}

/** The preHandler an authenticated scope installs. */
export async function authenticate (request: FastifyRequest): Promise<void> {
  const client = await request.server.keyResolver.resolve(requiredKey(request))
  request.server.lastUse.record(client.keyId)
  request.client = client
  request.log = request.log.child({ client_id: client.id, key_id: client.keyId })
  const scope = request.routeOptions.config.scope
  if (scope !== undefined && !client.scopes.includes(scope)) throw Errors.missingScope(scope)
}
