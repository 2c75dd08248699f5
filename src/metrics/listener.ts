// With METRICS_PORT, GET /metrics on a listener of its own (METRICS_HOST,
// else HOST) as `fastify.metricsListener`, and not on PORT: the port clients
// reach can stay public while only the scraper reaches this one. A plain
// node:http server answers nothing but the metrics, so nothing on it can
// reach the API, and it is served whatever the load (back-pressure is the
// app's). It listens from the start, before the app does, and closes with it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { metricsPort } from '../config.ts'
import { Errors, errorBody, type HttpError } from '../errors.ts'
import { openBeyondLoopback, scrapeAccess } from './access.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Where the METRICS_PORT listener listens; undefined without METRICS_PORT. */
    metricsListener: AddressInfo | undefined
  }
}

function sendError (response: ServerResponse, error: HttpError): void {
  response.writeHead(error.statusCode, { ...error.headers, 'content-type': 'application/json; charset=utf-8' })
  response.end(JSON.stringify(errorBody(error)))
}

export default fp(async function metricsListener (fastify) {
  const config = fastify.config
  const port = metricsPort(config)
  if (port === undefined) {
    fastify.decorate('metricsListener', undefined)
    return
  }
  const host = config.METRICS_HOST === undefined || config.METRICS_HOST === '' ? config.HOST : config.METRICS_HOST
  if (openBeyondLoopback(host, config.METRICS_TOKEN)) {
    fastify.log.warn({ METRICS_HOST: host, METRICS_PORT: port }, 'GET /metrics is open to anyone who reaches METRICS_PORT: ' +
      'set METRICS_TOKEN, or keep the port to the scraper\'s network')
  }
  const allowed = scrapeAccess(config.METRICS_TOKEN)
  const metrics = fastify.metrics

  async function answer (request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0] ?? ''
    if ((request.method !== 'GET' && request.method !== 'HEAD') || path !== '/metrics') {
      sendError(response, Errors.routeNotFound(request.method ?? '', path))
      return
    }
    if (!allowed(request.headers.authorization)) {
      sendError(response, Errors.invalidMetricsToken())
      return
    }
    const text = await metrics.render()
    response.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) })
    response.end(request.method === 'HEAD' ? undefined : text)
  }

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      fastify.log.error({ err: error }, 'metrics could not be rendered')
      if (!response.headersSent) sendError(response, Errors.internalError())
      else response.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host }, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch((error: unknown) => {
    throw new Error(`could not listen for metrics on ${host}:${port} (METRICS_HOST, METRICS_PORT): ${(error as Error).message}`)
  })
  fastify.log.info({ address: server.address() }, 'metrics listening')
  fastify.decorate('metricsListener', server.address() as AddressInfo)
  fastify.addHook('onClose', async () => {
    // A scraper keeps its connection open between scrapes: closing must not wait for it.
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
}, { name: 'metrics-listener', dependencies: ['env', 'metrics'] })
