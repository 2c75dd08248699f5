// Self-service webhooks (needs keys:manage): a client lists, makes and deletes
// the endpoints told of its own keys' changes, and sees their deliveries.
// Every lookup is by the caller's client, so another client's endpoint id is
// a 404, exactly like an id that does not exist.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Errors } from '../errors.ts'
import { bodyAjv, textAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { clientOf } from '../auth/client.ts'
import { keyNameProblem } from '../keys/names.ts'
import { NoQuery } from '../keys/schemas.ts'
import { checkEndpointUrl, DestinationRefusedError } from './destination.ts'
import { MAX_ENDPOINTS_PER_CLIENT, TooManyEndpointsError, type Delivery, type Endpoint } from './endpoints.ts'
import { WEBHOOK_EVENTS } from './events.ts'
import { webhooksOf } from './tenant-webhooks.ts'
import {
  CreatedWebhook, CreateWebhookBody, DeletedWebhook, DeliveriesQuery, DeliveryList, WebhookIdParams, WebhookList, WebhookView
} from './schemas.ts'

function view (endpoint: Endpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description,
    created_at: endpoint.created_at.toISOString()
  }
}

function deliveryView (delivery: Delivery) {
  const status = delivery.delivered_at !== null ? 'delivered' as const : delivery.failed_at !== null ? 'failed' as const : 'pending' as const
  return {
    event_id: delivery.event_id,
    type: delivery.type,
    status,
    attempts: delivery.attempts,
    last_status: delivery.last_status,
    last_error: delivery.last_error,
    next_attempt_at: status === 'pending' ? delivery.next_attempt_at.toISOString() : null,
    delivered_at: delivery.delivered_at?.toISOString() ?? null,
    created_at: delivery.created_at.toISOString()
  }
}

const webhookRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema))
  fastify.addSchema(WebhookView)
  const actorOf = (request: FastifyRequest) => ({ actor: `key:${clientOf(request).keyId}`, address: request.ip })
  const policy = { allowPrivate: fastify.config.WEBHOOK_ALLOW_PRIVATE, allowLoopback: fastify.config.WEBHOOK_ALLOW_LOOPBACK }

  fastify.get('/api/v1/webhooks', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'The caller\'s webhook endpoints (never their secrets), oldest first',
      querystring: NoQuery,
      response: { 200: WebhookList, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => ({ data: (await webhooksOf(fastify.db, clientOf(request)).list()).map(view) }))

  fastify.get('/api/v1/webhooks/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'One of the caller\'s webhook endpoints',
      params: WebhookIdParams,
      querystring: NoQuery,
      response: { 200: WebhookView, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const endpoint = await webhooksOf(fastify.db, clientOf(request)).find(request.params.id)
    if (endpoint === undefined) throw Errors.notFound('Webhook')
    return view(endpoint)
  })

  fastify.post('/api/v1/webhooks', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Add a webhook endpoint told of the caller\'s key events; its signing secret is in the answer, once',
      description: `Events: ${WEBHOOK_EVENTS.join(', ')}. The URL must be https, on a public address (400 invalid_webhook_url); ` +
        `a client has at most ${MAX_ENDPOINTS_PER_CLIENT} endpoints (409 too_many_webhooks). Audited as webhook.created.`,
      querystring: NoQuery,
      body: CreateWebhookBody,
      response: { 201: CreatedWebhook, ...errorResponses(...AUTHENTICATED_ERRORS, 409) }
    }
  }, async (request, reply) => {
    const { url, events, description } = request.body
    const found = description === undefined ? undefined : keyNameProblem(description)
    if (found !== undefined) throw Errors.invalidName('description', found)
    let checked: URL
    try {
      checked = checkEndpointUrl(url, policy)
    } catch (error) {
      if (error instanceof DestinationRefusedError) throw Errors.invalidWebhookUrl(error.message)
      throw error
    }
    try {
      const created = await webhooksOf(fastify.db, clientOf(request)).create({
        url: checked.href,
        events: events ?? [...WEBHOOK_EVENTS],
        description: description ?? null
      }, actorOf(request))
      reply.code(201)
      return { secret: created.secret, webhook: view(created.endpoint) }
    } catch (error) {
      if (error instanceof TooManyEndpointsError) throw Errors.tooManyWebhooks(MAX_ENDPOINTS_PER_CLIENT)
      throw error
    }
  })

  fastify.delete('/api/v1/webhooks/:id', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Delete a webhook endpoint; deliveries not yet made to it are dropped',
      description: 'Audited as webhook.deleted.',
      params: WebhookIdParams,
      querystring: NoQuery,
      response: { 200: DeletedWebhook, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const deleted = await webhooksOf(fastify.db, clientOf(request)).delete(request.params.id, actorOf(request))
    if (deleted === undefined) throw Errors.notFound('Webhook')
    return { webhook: view(deleted), deleted: true }
  })

  fastify.get('/api/v1/webhooks/:id/deliveries', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'The latest deliveries to one of the caller\'s webhook endpoints, newest first',
      params: WebhookIdParams,
      querystring: DeliveriesQuery,
      response: { 200: DeliveryList, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const webhooks = webhooksOf(fastify.db, clientOf(request))
    if (await webhooks.find(request.params.id) === undefined) throw Errors.notFound('Webhook')
    return { data: (await webhooks.deliveries(request.params.id, request.query.limit)).map(deliveryView) }
  })
}

export default webhookRoutes
