// Self-service keys (needs keys:manage): a client lists, creates, rotates,
// changes and revokes its own keys. Every lookup is by the caller's client id,
// so another client's key id is a 404, exactly like an id that does not exist.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Actor } from '../audit/store.ts'
import { Errors } from '../errors.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { InvalidCidrError, isAddressAllowed, normalizeAllowlist } from './allowlist.ts'
import { createKeyWithAudit, KeyNotFoundError, revokeKey, rotateKey, RotationRefusedError, updateKey } from './lifecycle.ts'
import { presentKey } from './present.ts'
import { DEFAULT_SCOPES, type Scope } from './scopes.ts'
import { findKey, listClientsWithKeys, type KeyInfo } from './store.ts'
import {
  CreatedKey, CreateKeyBody, KeyIdParams, KeyList, KeyView, RevokedKey, RevokeQuery, RotatedKey, RotateKeyBody,
  UpdateKeyBody, UpdateKeyQuery
} from './schemas.ts'

function actorOf (request: FastifyRequest): Actor {
  return { actor: `key:${request.client.keyId}`, address: request.ip }
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

// A POST whose options all have defaults may come without a body.
async function emptyBodyIsEmptyObject (request: FastifyRequest): Promise<void> {
  request.body ??= {}
}

const keysRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addSchema(KeyView)
  const view = (request: FastifyRequest, key: KeyInfo) => ({ ...presentKey(key), current: key.id === request.client.keyId })

  fastify.get('/api/v1/keys', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'List the caller\'s keys (never the keys themselves)',
      response: { 200: KeyList, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const [client] = await listClientsWithKeys(fastify.db, { clientId: request.client.id })
    return { data: (client?.keys ?? []).map((key) => view(request, key)) }
  })

  fastify.get('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'One of the caller\'s keys',
      params: KeyIdParams,
      response: { 200: KeyView, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const key = await answering(async () => await findKey(fastify.db, request.params.id, request.client.id))
    if (key === undefined) throw Errors.notFound('Key')
    return view(request, key)
  })

  fastify.post('/api/v1/keys', {
    config: { scope: 'keys:manage' },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      tags: ['keys'],
      summary: 'Create a key for the caller\'s client; the key is in the answer, once',
      body: CreateKeyBody,
      response: { 201: CreatedKey, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request, reply) => {
    const body = request.body
    const scopes: Scope[] = body.scopes ?? DEFAULT_SCOPES
    // A key cannot hand out more than it holds.
    const beyond = scopes.filter((scope) => !request.client.scopes.includes(scope))
    if (beyond.length > 0) throw Errors.scopesNotGrantable(beyond)
    const { apiKey, info } = await createKeyWithAudit(fastify.db, {
      clientId: request.client.id,
      scopes,
      name: body.name ?? null,
      expiresAt: body.expires_in_seconds === undefined ? null : new Date(Date.now() + body.expires_in_seconds * 1000),
      allowedCidrs: allowlistOf(body.allowed_cidrs) ?? null
    }, actorOf(request))
    reply.code(201)
    return { api_key: apiKey, key: view(request, info) }
  })

  fastify.post('/api/v1/keys/:id/rotate', {
    config: { scope: 'keys:manage' },
    preValidation: emptyBodyIsEmptyObject,
    schema: {
      tags: ['keys'],
      summary: 'Replace a key with a new one; the old one keeps working for grace_seconds',
      params: KeyIdParams,
      body: RotateKeyBody,
      response: { 201: RotatedKey, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request, reply) => {
    const body = request.body
    const expiresIn = body.expires_in_seconds
    const rotation = await answering(async () => await rotateKey(fastify.db, {
      keyId: request.params.id,
      clientId: request.client.id,
      graceSeconds: body.grace_seconds,
      ...(expiresIn === undefined ? {} : { expiresAt: expiresIn === null ? null : new Date(Date.now() + expiresIn * 1000) })
    }, actorOf(request)))
    reply.code(201)
    return { api_key: rotation.apiKey, key: view(request, rotation.key), previous: view(request, rotation.previous) }
  })

  fastify.patch('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Rename a key or set its address allowlist',
      params: KeyIdParams,
      querystring: UpdateKeyQuery,
      body: UpdateKeyBody,
      response: { 200: KeyView, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request) => {
    const allowedCidrs = allowlistOf(request.body.allowed_cidrs)
    const own = request.params.id === request.client.keyId
    if (own && allowedCidrs != null && !request.query.allow_self && !isAddressAllowed(request.ip, allowedCidrs)) {
      throw Errors.ownKey(`shut this address (${request.ip}) out of`, '?allow_self=true')
    }
    const key = await answering(async () => await updateKey(fastify.db, {
      keyId: request.params.id,
      clientId: request.client.id,
      changes: { name: request.body.name, allowedCidrs }
    }, actorOf(request)))
    return view(request, key)
  })

  fastify.delete('/api/v1/keys/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Revoke a key at once, on every instance',
      description: 'Revoking the key making the request needs ?allow_self=true; otherwise the answer is 409.',
      params: KeyIdParams,
      querystring: RevokeQuery,
      response: { 200: RevokedKey, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) }
    }
  }, async (request) => {
    if (request.params.id === request.client.keyId && !request.query.allow_self) {
      throw Errors.ownKey('revoke', '?allow_self=true')
    }
    const revocation = await answering(async () => await revokeKey(fastify.db, { keyId: request.params.id, clientId: request.client.id }, actorOf(request)))
    return { key: view(request, revocation.key), revoked: revocation.revoked }
  })
}

export default keysRoutes
