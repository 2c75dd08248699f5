// The authenticated scope: the routes registered through it are reached only
// with a key that may do what each route names in `config.scope`. Its hooks
// run in this order: the key judged on request (before the body), the client
// decorated and a signature checked before the handler, then the client's rate
// limit, then a signed request's nonce used up (last, so that a request the
// rate limit refuses does not spend it); every answer counts in usage.
import type { FastifyPluginAsync } from 'fastify'
import clientRateLimit from '../plugins/rate-limit.ts'
import { authenticate, claimSignedNonce, countRequest, identify } from './hooks.ts'

export interface AuthenticatedOptions {
  /** The route plugins of the scope. */
  routes: FastifyPluginAsync[]
}

const authenticated: FastifyPluginAsync<AuthenticatedOptions> = async function authenticated (scope, { routes }) {
  // Every route in this scope must say which scope it needs: none slips through unchecked.
  scope.addHook('onRoute', (route) => {
    if (route.config?.scope === undefined) throw new Error(`${route.method} ${route.url} names no key scope`)
  })
  scope.addHook('onRequest', identify)
  scope.addHook('preHandler', authenticate)
  scope.addHook('onResponse', countRequest)
  // Route-level preHandler, so it runs after authenticate: the limit is the client's.
  await scope.register(clientRateLimit)
  // And after the rate limit's (onRoute hooks run in the order added): a nonce is used up last.
  scope.addHook('onRoute', (route) => { route.preHandler = [...[route.preHandler ?? []].flat(), claimSignedNonce] })
  for (const routesPlugin of routes) await scope.register(routesPlugin)
}

export default authenticated
