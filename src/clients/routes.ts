// The caller's own client (needs keys:manage): GET /api/v1/client shows it,
// PATCH /api/v1/client sets its defaults for environment and status, which
// fill an entry that leaves them out on every ingest route. Each change is
// audited (client.updated), and every instance applies it at once.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Errors } from '../errors.ts'
import { bodyAjv, textAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { clientOf } from '../auth/client.ts'
import { NoQuery } from '../keys/schemas.ts'
import { defaultProblem, storedDefault, type DefaultField } from './ingest-defaults.ts'
import { ClientView, UpdateClientBody } from './schemas.ts'
import { ownClientOf, type ClientSettings } from './tenant-client.ts'

function view (client: ClientSettings) {
  return { client_id: client.id, client_name: client.name, defaults: client.defaults }
}

/** A default as given (null clears it): as stored, or a 400 naming the field. */
function checkedDefault (field: DefaultField, value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value
  const stored = storedDefault(field, value)
  const found = defaultProblem(field, stored)
  if (found !== undefined) {
    throw Errors.invalidRequest('body', `defaults.${field} ${found.problem}`, [{ field: `body.defaults.${field}`, message: found.problem }])
  }
  return stored
}

const clientRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema))
  const actorOf = (request: FastifyRequest) => ({ actor: `key:${clientOf(request).keyId}`, address: request.ip })

  fastify.get('/api/v1/client', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'The caller\'s client and its defaults for environment and status',
      querystring: NoQuery,
      response: { 200: ClientView, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => view(await ownClientOf(fastify.db, clientOf(request)).get()))

  fastify.patch('/api/v1/client', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Set the caller\'s client\'s defaults for environment and status (null clears one)',
      description: 'A log that leaves out environment or status gets the client\'s default, on POST /api/v1/logs and POST /v1/logs; ' +
        'without one, the native route requires the field. For all the client\'s keys, on every instance at once; audited as client.updated.',
      querystring: NoQuery,
      body: UpdateClientBody,
      response: { 200: ClientView, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { defaults } = request.body
    const environment = checkedDefault('environment', defaults.environment)
    const status = checkedDefault('status', defaults.status)
    const client = clientOf(request)
    const changed = await ownClientOf(fastify.db, client).setDefaults({ environment, status }, actorOf(request))
    // Other instances hear the change from the database; this one must not answer from its cache meanwhile.
    fastify.keyResolver.forgetClient(client.id)
    return view(changed)
  })
}

export default clientRoutes
