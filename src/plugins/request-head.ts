// What every request must get right in its head before any route reads it:
// an HTTP/1.1 Host header, a query string whose percent-encoding decodes to
// UTF-8, and (behind a trusted proxy) an X-Forwarded-For that names an address. Checked once, for every route (and the not-found handler), in a
// root onRequest hook, so that the answer is the common JSON error shape.
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Errors } from '../errors.ts'
import { isPlainAddress } from '../keys/allowlist.ts'
import { trustProxySetting } from '../config.ts'

// Node.js would answer a request without Host with an empty-bodied 400 of its
// own (requireHostHeader); the server is created with that check off so that
// the refusal is made here instead. HTTP/1.0 has no Host header to require.
function refuseMissingHost (request: FastifyRequest): void {
  const { httpVersionMajor, httpVersionMinor, headers } = request.raw
  if (headers.host === undefined && httpVersionMajor === 1 && httpVersionMinor >= 1) {
    throw Errors.missingHost()
  }
}

const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/

/**
 * What is wrong with the percent-encoding of a URL's query string, if
 * anything. Fastify's query parser keeps a broken escape as literal text and
 * turns bytes that are not UTF-8 into U+FFFD, so such a value would be
 * searched for, or stored, as something the client never sent.
 */
export function queryEncodingProblem (url: string): string | undefined {
  const start = url.indexOf('?')
  // Most queries hold no escape at all: they are not decoded here.
  if (start === -1 || !url.includes('%', start)) return undefined
  const query = url.slice(start + 1)
  if (BROKEN_ESCAPE.test(query)) return 'a "%" that is not followed by two hexadecimal digits'
  try {
    decodeURIComponent(query)
  } catch {
    return 'percent-encoded bytes that are not UTF-8'
  }
  return undefined
}

function refuseMalformedQuery (request: FastifyRequest): void {
  const problem = queryEncodingProblem(request.url)
  if (problem !== undefined) {
    throw Errors.malformedQuery(problem)
  }
}

/**
 * Behind a trusted proxy the client's address is read from X-Forwarded-For,
 * which proxies pass on as they find it: text that is no address would be
 * the key of the failed-authentication throttle, checked against allowlists
 * and stored as the address of a key's use and of audit events.
 */
function refuseForgedAddress (request: FastifyRequest): void {
  if (!isPlainAddress(request.ip)) {
    throw Errors.forgedAddress()
  }
}

export default fp(async function requestHead (fastify) {
  const proxied = trustProxySetting(fastify.config.TRUST_PROXY) !== false
  // Checks that never wait: a hook that calls done, rather than a promise for every request.
  fastify.addHook('onRequest', (request, _reply, done) => {
    refuseMissingHost(request)
    refuseMalformedQuery(request)
    if (proxied) refuseForgedAddress(request)
    done()
  })
}, { name: 'request-head', dependencies: ['env', 'errors'] })
