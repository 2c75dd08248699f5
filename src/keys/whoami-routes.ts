// GET /api/v1/whoami: what the key making the request is and may do, for any
// accepted key, so that a client (the explorer page) shows what the key
// allows without trying routes and provoking 403s, which would count as
// rejected requests in the tenant's usage. Never the key itself.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { clientOf } from '../auth/client.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { NoQuery } from './schemas.ts'

export const Whoami = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  client_name: Type.String(),
  key_id: Type.String({ description: 'The key\'s id (a development key\'s is its configured id).' }),
  key_prefix: Type.String({ description: 'The non-secret beginning of the key.' }),
  scopes: Type.Array(Type.String(), { description: 'What the key may do: logs:write, logs:read, keys:manage.' }),
  ends_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the key stops working by itself: its expiry, or the end of its rotation grace; null: never.'
  }),
  in_grace: Type.Boolean({ description: 'Rotated, and accepted only until ends_at.' })
})

export type WhoamiBody = Static<typeof Whoami>

const whoamiRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/api/v1/whoami', {
    config: { scope: 'any' },
    schema: {
      tags: ['keys'],
      summary: 'The key making the request: its client, its scopes and when it ends',
      querystring: NoQuery,
      response: { 200: Whoami, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request): Promise<WhoamiBody> => {
    const client = clientOf(request)
    return {
      client_id: client.id,
      client_name: client.name,
      key_id: client.keyId,
      key_prefix: client.keyPrefix,
      scopes: client.scopes,
      ends_at: client.keyEndsAt?.toISOString() ?? null,
      in_grace: client.inGrace
    }
  })
}

export default whoamiRoutes
