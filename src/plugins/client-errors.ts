// Requests too broken to reach a route still get the common JSON error shape:
// at the HTTP level (a Content-Length that does not parse, headers too large,
// a timeout) and at the router (a malformed URL, a path segment too long).
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, type ErrorBody, type ErrorCode } from '../errors.ts'

const ROUTER_ANSWERS: Record<string, [number, ErrorCode, string]> = {
  FST_ERR_BAD_URL: [400, 'malformed_url', 'The URL is malformed.'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', 'A path segment of the URL is too long.']
}

export function answerRouterError (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [statusCode, code, message] = ROUTER_ANSWERS[error.code] ?? [400, 'bad_request', error.message]
  void reply.code(statusCode).send(errorBody(statusCode, code, message))
}

const ANSWERS: Record<string, [number, ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request took too long to arrive.'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large.']
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
  const [statusCode, code, message] = ANSWERS[error.code ?? ''] ?? [400, 'malformed_http_request', 'The HTTP request is malformed.']
  socket.end(rawAnswer(statusCode, errorBody(statusCode, code, message)))
}

/** An error answer as the bytes of an HTTP/1.1 response that closes the connection, for a socket no request owns. */
export function rawAnswer (statusCode: number, answer: ErrorBody, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(answer)
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return `HTTP/1.1 ${statusCode} ${answer.error}\r\nContent-Type: application/json; charset=utf-8\r\n${extra}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
