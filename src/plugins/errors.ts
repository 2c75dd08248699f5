// One error handler and one not-found handler, so that every 4xx/5xx carries
// {statusCode, error, code, message, details?} with a stable code.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Errors, HttpError, errorBody } from '../errors.ts'
import { isDatabaseUnavailable } from '../db/unavailable.ts'
import { explainIssue } from '../schemas/validation-messages.ts'

// Fastify's own errors, by their code, with a stable name and a message a client can act on.
const FASTIFY_ERRORS: Record<string, (error: FastifyError, limit: number) => HttpError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, limit) => Errors.bodyTooLarge(limit),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => Errors.unsupportedMediaType(),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => Errors.emptyBody(),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => Errors.invalidContentLength(),
  FST_ERR_CTP_INVALID_TYPE: () => Errors.invalidContentType(),
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => Errors.invalidJson(error.message)
}

function describe (error: FastifyError, request: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error
  if (error.validation !== undefined) {
    const context = error.validationContext ?? 'request'
    const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
    const issues = error.validation.map((issue) => ({
      field: fieldName(context, issue.instancePath, issue.params),
      message: explainIssue(context, issue, schema)
    }))
    return Errors.invalidRequest(context, issues[0]?.message ?? error.message, issues)
  }
  const known = FASTIFY_ERRORS[error.code]
  // The limit of the route that refused the body: the ingest route has
  // MAX_BODY_BYTES, the others Fastify's default, and the message must name the one applied.
  // The OTLP route takes protobuf rather than NDJSON: its 415 says so.
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && request.routeOptions.config.protobufBody === true) {
    return Errors.unsupportedMediaType('application/json or application/x-protobuf')
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && request.routeOptions.config.logEntries === true) {
    return Errors.unsupportedMediaType('application/json, application/x-ndjson (or no Content-Type) or application/x-www-form-urlencoded')
  }
  if (known !== undefined) return known(error, request.routeOptions.bodyLimit)
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR...) while inflating a gzip or deflate body.
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) return Errors.invalidCompressedBody(error.message)
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return Errors.badRequest(error.statusCode, error.message)
  }
  return Errors.internalError()
}

function fieldName (context: string, instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath.split('/').filter((part) => part !== '')
  const missing = params.missingProperty ?? params.additionalProperty
  if (typeof missing === 'string') parts.push(missing)
  return [context, ...parts].join('.')
}

export default fp(async function errors (fastify) {
  const retryAfter = fastify.config.RETRY_AFTER_SECONDS

  fastify.setErrorHandler(async function handle (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    let described = describe(error, request)
    if (described.statusCode >= 500 && isDatabaseUnavailable(error)) {
      described = Errors.databaseUnavailable(retryAfter)
      request.log.warn({ err: error }, 'database unavailable')
    } else if (described.statusCode >= 500 && error instanceof HttpError) {
      // A 503 the service chose (a timeout, a dependency down, a bound reached)
      // is a state it handles, not a failure: at error level, every readiness
      // probe during an outage would read as a bug.
      request.log.warn({ code: described.code, statusCode: described.statusCode }, 'request refused: unavailable')
    } else if (described.statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      request.log.info({ code: described.code, statusCode: described.statusCode }, 'request rejected')
    }
    fastify.metrics.errorAnswer(described.code)
    for (const [name, value] of Object.entries(described.headers)) reply.header(name, value)
    return await reply.code(described.statusCode)
      .send(errorBody(described))
  })

  fastify.setNotFoundHandler(async function notFound (request, reply) {
    fastify.metrics.errorAnswer('route_not_found')
    return await reply.code(404).send(errorBody(Errors.routeNotFound(request.method, request.url.split('?')[0] ?? '')))
  })
}, { name: 'errors', dependencies: ['env', 'metrics'] })
