// GET / as Elasticsearch's clients and shippers call it when they connect
// (Filebeat, Logstash, Vector read the version; Logstash also sends HEAD /),
// told apart from a browser opening the service's page: a request for the
// probe carries a key, or does not ask for HTML. A route constraint makes
// the choice, so that GET / for a browser stays whatever else serves it.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0]

export const PROBE_CONSTRAINT_NAME = 'elasticsearchProbe'
/** The constraint value of a probe; any other request derives none. */
export const PROBE = 'probe'

/** Whether a request to GET / is a client's probe rather than a browser asking for the page. */
export function isProbe (headers: IncomingHttpHeaders): boolean {
  if (headers.authorization !== undefined || headers['x-api-key'] !== undefined) return true
  return headers.accept?.includes('text/html') !== true
}

export const probeConstraint: ConstraintStrategy = {
  name: PROBE_CONSTRAINT_NAME,
  storage () {
    const handlers = new Map<string, ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>()
    return {
      get: (value: unknown) => handlers.get(String(value)) ?? null,
      set: (value: unknown, handler) => { handlers.set(String(value), handler) }
    }
  },
  // Only GET / and HEAD / are constrained: every other request is matched as if there were no constraint.
  deriveConstraint: (request: IncomingMessage) => (isProbe(request.headers) ? PROBE : ''),
  mustMatchWhenDerived: false
}
