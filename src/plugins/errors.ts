// One error handler and one not-found handler, so that every 4xx/5xx carries
// {statusCode, error, code, message, details?} with a stable code.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Errors, HttpError, errorBody, type ErrorCode } from '../errors.ts'
import { isDatabaseUnavailable } from '../db/unavailable.ts'

interface Described { statusCode: number, code: ErrorCode, message: string, details?: unknown, headers?: Record<string, string> }

// Fastify's own errors, by their code, with a stable name and a message a client can act on.
const FASTIFY_ERRORS: Record<string, (error: FastifyError, limit: number) => Described> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, limit) => Errors.bodyTooLarge(limit),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => ({
    statusCode: 415,
    code: 'unsupported_media_type',
    message: 'Unsupported Content-Type: send application/json or application/x-ndjson.'
  }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => ({ statusCode: 400, code: 'empty_body', message: 'The request body is empty.' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ({
    statusCode: 400,
    code: 'invalid_content_length',
    message: 'Content-Length does not match the body received.'
  }),
  FST_ERR_CTP_INVALID_TYPE: () => ({ statusCode: 400, code: 'invalid_content_type', message: 'The Content-Type header is invalid.' }),
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => ({ statusCode: 400, code: 'invalid_json', message: `The body is not valid JSON: ${error.message}` })
}

function describe (error: FastifyError, bodyLimit: number): Described {
  if (error instanceof HttpError) return error
  if (error.validation !== undefined) {
    const context = error.validationContext ?? 'request'
    return {
      statusCode: 400,
      code: 'invalid_request',
      message: `Invalid ${context}: ${error.message}`,
      details: error.validation.map((issue) => ({
        field: fieldName(context, issue.instancePath, issue.params),
        message: issue.message ?? 'is invalid'
      }))
    }
  }
  const known = FASTIFY_ERRORS[error.code]
  if (known !== undefined) return known(error, bodyLimit)
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR...) while inflating a gzip or deflate body.
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return { statusCode: 400, code: 'invalid_compressed_body', message: `The body could not be decompressed: ${error.message}` }
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { statusCode: error.statusCode, code: 'bad_request', message: error.message }
  }
  return { statusCode: 500, code: 'internal_error', message: 'Internal server error.' }
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
    // The limit of the route that refused the body: the ingest route has
    // MAX_BODY_BYTES, the others Fastify's default, and the message must name the one applied.
    let described = describe(error, request.routeOptions.bodyLimit)
    if (described.statusCode >= 500 && isDatabaseUnavailable(error)) {
      described = Errors.databaseUnavailable(retryAfter)
      request.log.warn({ err: error }, 'database unavailable')
    } else if (described.statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      request.log.info({ code: described.code, statusCode: described.statusCode }, 'request rejected')
    }
    for (const [name, value] of Object.entries(described.headers ?? {})) reply.header(name, value)
    return await reply.code(described.statusCode)
      .send(errorBody(described.statusCode, described.code, described.message, described.details))
  })

  fastify.setNotFoundHandler(async function notFound (request, reply) {
    return await reply.code(404).send(errorBody(404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`))
  })
}, { name: 'errors', dependencies: ['env'] })
