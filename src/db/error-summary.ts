// Database errors in one short line: the code and message that PostgreSQL or
// the network gave, without the driver's internals (pg's parser frames,
// PostgreSQL's source file, line and routine), for log lines and messages.
import pg from 'pg'
import { stdSerializers } from 'pino'
import { isDatabaseUnavailable } from './unavailable.ts'

export interface ErrorSummary {
  code?: string
  message: string
}

/** The code and message of an error, looking inside an AggregateError (a host name that resolves to several addresses). */
export function errorSummary (error: unknown): ErrorSummary {
  if (!(error instanceof Error)) return { message: String(error) }
  const code = (error as { code?: unknown }).code
  let message = error.message
  if (message === '' && error instanceof AggregateError) {
    message = error.errors.map((inner: unknown) => errorSummary(inner).message).join('; ')
  }
  return {
    ...(typeof code === 'string' ? { code } : {}),
    message: message === '' ? (typeof code === 'string' ? code : error.name) : message
  }
}

/** What the service logs of an error: pino's shape (Fastify's logger wants a stack, empty for database errors). */
export interface SerializedError {
  type: string
  message: string
  stack: string
  [key: string]: unknown
}

/**
 * pino's `err` serializer for the service: a database error (one from
 * PostgreSQL, or a lost or refused connection) as its type, code and message,
 * with its cause likewise, in one line; any other error as pino shows it,
 * stack included.
 */
export function serializeError (error: Error): SerializedError {
  if (!(error instanceof pg.DatabaseError) && !isDatabaseUnavailable(error)) return stdSerializers.err(error)
  const cause = error.cause instanceof Error ? serializeError(error.cause) : error.cause
  return { type: error.constructor.name, ...errorSummary(error), stack: '', ...(cause === undefined ? {} : { cause }) }
}
