// The API key a request presents: the one place where request headers are
// read for a credential. A new scheme (another Authorization scheme, another
// header) is added here, and every authenticated route accepts it.
import type { FastifyRequest } from 'fastify'
import { isUtf8 } from 'node:buffer'
import { Errors } from '../errors.ts'

/**
 * Every Authorization header as sent. Node keeps only the first of several in
 * `request.headers`, so a second one, with another key, would pass unseen.
 */
function authorizationHeaders (request: FastifyRequest): string[] {
  const raw = request.raw.rawHeaders
  const values: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') values.push(raw[i + 1]!)
  return values
}

// Standard base64 with its padding, as RFC 7617 has Basic credentials sent:
// Buffer.from(…, 'base64') would skip any other character rather than refuse it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The text base64 stands for, or undefined when it is not base64 of UTF-8 text. */
function fromBase64 (value: string): string | undefined {
  if (value === '' || !BASE64.test(value)) return undefined
  const bytes = Buffer.from(value, 'base64')
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined
}

/**
 * The key in Basic credentials: the password, whatever the user name (log
 * shippers have a field for each, and some insist on a user). No colon, bad
 * base64 or an empty password: malformed.
 */
function keyFromBasic (credentials: string): string {
  const decoded = fromBase64(credentials)
  const colon = decoded?.indexOf(':') ?? -1
  if (decoded === undefined || colon < 0) throw Errors.malformedKey()
  const password = decoded.slice(colon + 1)
  if (password === '') throw Errors.malformedKey()
  return password
}

/**
 * The key in `ApiKey` credentials, as Elasticsearch clients send them: the
 * key itself, or base64 of `id:key` (the form Elasticsearch's own API keys
 * take, which some clients build from an id and a key): then the part after the colon.
 */
function keyFromApiKey (credentials: string): string {
  if (credentials.startsWith('clk_')) return credentials
  const decoded = fromBase64(credentials)
  const colon = decoded?.indexOf(':') ?? -1
  return decoded !== undefined && colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : credentials
}

function keyFromAuthorization (authorization: string): string {
  const match = /^(bearer|api-key|apikey|basic)[ \t]+(\S*)[ \t]*$/i.exec(authorization)
  // A credential in some other scheme (Digest, Token) is not ours: say the key is malformed.
  if (match === null) throw Errors.malformedKey()
  const scheme = match[1]!.toLowerCase()
  const credentials = match[2]!
  if (scheme === 'basic') return keyFromBasic(credentials)
  if (scheme === 'apikey') return keyFromApiKey(credentials)
  return credentials
}

/**
 * The key from X-API-Key or the Authorization header: `Bearer <key>`,
 * `Api-Key <key>`, `ApiKey <key>` (or base64 of `id:key`), or `Basic` with
 * the key as the password.
 */
export function presentedKey (request: FastifyRequest): string | undefined {
  const authorizations = authorizationHeaders(request)
  if (authorizations.some((value) => value !== authorizations[0])) throw Errors.conflictingKeys()
  const fromHeader = request.headers['x-api-key']
  const xApiKey = Array.isArray(fromHeader) ? fromHeader.join(',') : fromHeader
  const authorization = request.headers.authorization
  const fromAuthorization = authorization === undefined ? undefined : keyFromAuthorization(authorization)
  if (xApiKey !== undefined && fromAuthorization !== undefined && xApiKey !== fromAuthorization) {
    throw Errors.conflictingKeys()
  }
  const key = (xApiKey ?? fromAuthorization)?.trim()
  return key === '' ? undefined : key
}

/** The presented key, or the 401 that says there is none. */
export function requiredKey (request: FastifyRequest): string {
  const key = presentedKey(request)
  if (key === undefined) throw Errors.missingKey()
  return key
}
