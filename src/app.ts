// The application factory: builds a ready-to-listen Fastify instance without
// listening, so tests drive it with app.inject and the entry point decides
// where to listen.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { DestinationStream } from 'pino'
import authPlugin from './auth/plugin.ts'
import authenticated from './auth/authenticated.ts'
import audit from './audit/plugin.ts'
import usage from './usage/plugin.ts'
import bodyBytes from './plugins/body-bytes.ts'
import connectionLimits from './plugins/connection-limits.ts'
import bodyParsers from './plugins/body-parsers.ts'
import bodyDigest from './signing/body-digest.ts'
import database from './plugins/database.ts'
import queries from './plugins/queries.ts'
import logWriter from './plugins/log-writer.ts'
import ingest from './plugins/ingest.ts'
import redis from './plugins/redis.ts'
import docs from './plugins/docs.ts'
import env from './plugins/env.ts'
import metrics from './plugins/metrics.ts'
import pressure from './plugins/pressure.ts'
import metricsListener from './metrics/listener.ts'
import metricsRoutes from './metrics/routes.ts'
import errors from './plugins/errors.ts'
import expectContinue from './plugins/expect-continue.ts'
import requestHead from './plugins/request-head.ts'
import healthRoutes from './health/routes.ts'
import logsRoutes from './logs/routes.ts'
import exportRoutes from './logs/export-routes.ts'
import statsRoutes from './logs/stats-routes.ts'
import keysRoutes from './keys/routes.ts'
import auditRoutes from './audit/routes.ts'
import usageRoutes from './usage/routes.ts'
import clientRoutes from './clients/routes.ts'
import tailRoutes from './tail/routes.ts'
import otlpRoutes from './otlp/routes.ts'
import lokiRoutes from './loki/routes.ts'
import elasticRoutes from './elastic/routes.ts'
import explorerRoutes from './explorer/routes.ts'
import { DEFAULT_EXPLORER_DIR } from './explorer/assets.ts'
import whoamiRoutes from './keys/whoami-routes.ts'
import tails from './plugins/tails.ts'
import retention from './plugins/retention.ts'
import searchIndexUpkeep from './plugins/search-index-upkeep.ts'
import { loadConfig, trustProxySetting, type Config, type TrustProxy } from './config.ts'
import { parseDevKeys } from './auth/dev-keys.ts'
import { serializeError } from './db/error-summary.ts'
import { requestTimeouts } from './net/request-timeouts.ts'
import { requestLog } from './net/request-log.ts'
import { requestLogger } from './net/request-logger.ts'
import { answerClientError, answerRouterError } from './plugins/client-errors.ts'
import { REQUEST_AJV_OPTIONS } from './schemas/ajv.ts'
import { sharedCompilers } from './schemas/compilers.ts'
import { ErrorResponse } from './schemas/errors.ts'
import { AnyValue } from './otlp/schemas.ts'

export interface BuildOptions {
  /** Variables to use instead of process.env and `.env`. */
  env?: Record<string, string | undefined>
  /** Where pino writes (default stdout). */
  logStream?: DestinationStream
  /**
   * The time the per-minute ingest budgets count by (default Date.now). Tests
   * shift it to the start of a minute, so that the minute they fill does not
   * end midway, rather than wait for a minute to begin.
   */
  ingestClock?: () => number
  /** Where the explorer page's built files are (default: dist/explorer of the package). */
  explorerDir?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestClock: () => number
  }
}

// Secrets must never reach a log line, whatever a future serializer includes.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-api-signature"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]'
]

// A key pasted into a URL (`?api_key=…`, percent-encoded or not) must not
// reach the log through the request line.
const KEY_IN_TEXT = /clk_[0-9A-Za-z]+/g

/** The URL with anything key-shaped, and any of the given plaintext keys (development keys of any shape), masked. */
export function redactUrl (url: string, plaintextKeys: readonly string[] = []): string {
  let decoded = url
  try {
    decoded = decodeURIComponent(url)
  } catch {
    // Not valid percent-encoding: judged as sent.
  }
  let redacted = decoded.replace(KEY_IN_TEXT, 'clk_[redacted]')
  for (const key of plaintextKeys) redacted = redacted.replaceAll(key, '[redacted]')
  return redacted === decoded ? url : redacted
}

function createServer (options: BuildOptions, config: Config, trustProxy: TrustProxy, plaintextKeys: readonly string[]): FastifyInstance {
  const requestTimeoutMs = config.REQUEST_TIMEOUT_MS
  const logController = requestLog(config.REQUEST_LOG, config.SLOW_REQUEST_MS)
  return Fastify({
    trustProxy,
    // The whole request, body included, must arrive within this; Fastify's default is never.
    requestTimeout: requestTimeoutMs,
    logger: {
      level: 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // Database errors in one line with their code, not the driver's internals.
        err: serializeError,
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: redactUrl(request.url, plaintextKeys),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort
        })
      },
      ...(options.logStream === undefined ? {} : { stream: options.logStream })
    },
    ...(logController === undefined ? {} : { logController }),
    childLoggerFactory: requestLogger,
    ajv: { customOptions: REQUEST_AJV_OPTIONS },
    schemaController: { compilersFactory: sharedCompilers },
    // The first start initialises the embedded PostgreSQL, which can outlast the 10 s default on a slow disk.
    pluginTimeout: 60_000,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerRouterError,
    // A request without Host is refused by the request-head plugin, in the JSON error shape, rather than by Node.js with an empty body.
    http: { requireHostHeader: false, ...requestTimeouts(requestTimeoutMs) }
  })
}

export async function buildApp (options: BuildOptions = {}): Promise<FastifyInstance> {
  // Fastify needs trustProxy when it is built, before the env plugin runs; a
  // bad configuration stops the start here with the same message.
  const config = loadConfig(options.env)
  const trustProxy = trustProxySetting(config.TRUST_PROXY)
  // Development keys need not look like keys, so the request log is told them to mask them.
  const devKeys = parseDevKeys(options.env ?? process.env)
  let app: FastifyInstance
  try {
    app = createServer(options, config, trustProxy, devKeys.map((key) => key.apiKey))
  } catch (error) {
    throw new Error(`TRUST_PROXY is not valid: ${(error as Error).message}`)
  }
  app.decorate('ingestClock', options.ingestClock ?? Date.now)

  try {
    await app.register(env, options.env === undefined ? {} : { env: options.env })
    // First after the configuration: everything after it records into it, and its hook times every answer.
    await app.register(metrics)
    await app.register(errors)
    await app.register(connectionLimits)
    await app.register(requestHead)
    await app.register(database)
    // The query routes' own pool, so that reads never take the connections writes and authentication need.
    await app.register(queries)
    await app.register(logWriter)
    // Before any route: an overloaded instance refuses a request before its key is looked up or its body read.
    await app.register(pressure)
    await app.register(tails)
    await app.register(retention)
    await app.register(searchIndexUpkeep)
    await app.register(redis)
    // Its preParsing hook comes after every onRequest hook, so after authentication.
    await app.register(expectContinue)
    // Before the body parsers, which decompress: a signature covers the bytes as sent.
    await app.register(bodyDigest)
    await app.register(bodyBytes)
    await app.register(bodyParsers)
    await app.register(docs)
    await app.register(usage)
    // After the writer, Redis and usage it stores through, counts in and limits by: one ingest budget for every ingest route.
    await app.register(ingest)
    await app.register(audit)
    await app.register(authPlugin, { devKeys })
    app.addSchema(ErrorResponse)
    app.addSchema(AnyValue)

    await app.register(metricsListener)
    await app.register(healthRoutes)
    await app.register(metricsRoutes)
    // Outside the authenticated scope: the page is what asks for a key.
    await app.register(explorerRoutes, { dir: options.explorerDir ?? DEFAULT_EXPLORER_DIR })
    await app.register(authenticated, {
      routes: [logsRoutes, otlpRoutes, lokiRoutes, elasticRoutes, statsRoutes, exportRoutes, tailRoutes, keysRoutes, auditRoutes, usageRoutes,
        clientRoutes, whoamiRoutes]
    })
    await app.ready()
  } catch (error) {
    await app.close().catch(() => {})
    throw error
  }
  return app
}
