// Requests too broken to reach a route still get the common JSON error shape:
// at the HTTP level (a Content-Length that does not parse, headers too large,
// a timeout) and at the router (a malformed URL, a path segment too long).
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, Errors, type ErrorBody, type HttpError } from '../errors.ts'

const ROUTER_ANSWERS: Record<string, () => HttpError> = {
  FST_ERR_BAD_URL: Errors.malformedUrl,
  FST_ERR_MAX_PARAM_LENGTH: Errors.uriTooLong
}

export function answerRouterError (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const answer = ROUTER_ANSWERS[error.code]?.() ?? Errors.badRequest(400, error.message)
  void reply.code(answer.statusCode).send(errorBody(answer))
}

const ANSWERS: Record<string, () => HttpError> = {
  ERR_HTTP_REQUEST_TIMEOUT: Errors.requestTimeout,
  HPE_HEADER_OVERFLOW: Errors.headersTooLarge
}

export function answerClientError (error: Error & { code?: string }, socket: Socket): void {
  // A reset or an already closed socket has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return
  // A response already under way (a request answered before its body, which then took too long to arrive) cannot
  // be followed by another on the same connection: it is closed instead, as Node.js's own handler does.
  if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true) {
    socket.destroy()
    return
  }
  const answer = ANSWERS[error.code ?? '']?.() ?? Errors.malformedHttpRequest()
  socket.end(rawAnswer(answer.statusCode, errorBody(answer)))
}

/** An error answer as the bytes of an HTTP/1.1 response that closes the connection, for a socket no request owns. */
export function rawAnswer (statusCode: number, answer: ErrorBody, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(answer)
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return `HTTP/1.1 ${statusCode} ${answer.error}\r\nContent-Type: application/json; charset=utf-8\r\n${extra}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
