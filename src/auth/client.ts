// The client a request is authenticated as, for the routes of the
// authenticated scope (authenticated.ts), where the preHandler always sets it.
import type { FastifyRequest } from 'fastify'
import type { AuthenticatedClient } from './resolver.ts'

/** The request's client; a route outside the authenticated scope that asks is a mistake of ours, answered 500. */
export function clientOf (request: FastifyRequest): AuthenticatedClient {
  const client = request.client
  if (client == null) throw new Error(`no authenticated client for ${request.method} ${request.routeOptions.url ?? '(no route)'}: is it outside the authenticated scope?`)
  return client
}
