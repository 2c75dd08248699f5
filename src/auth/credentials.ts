// The API key a request presents: the one place where request headers are
// read for a credential. A new scheme (another Authorization scheme, another
// header) is added here, and every authenticated route accepts it.
import type { FastifyRequest } from 'fastify'
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

/** The key from X-API-Key, `Authorization: Bearer` or `Authorization: Api-Key`. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const authorizations = authorizationHeaders(request)
  if (authorizations.some((value) => value !== authorizations[0])) throw Errors.conflictingKeys()
  const fromHeader = request.headers['x-api-key']
  const xApiKey = Array.isArray(fromHeader) ? fromHeader.join(',') : fromHeader
  const authorization = request.headers.authorization
  let fromAuthorization: string | undefined
  if (authorization !== undefined) {
    const match = /^(?:bearer|api-key)[ \t]+(\S*)[ \t]*$/i.exec(authorization)
    // A credential in some other scheme (Basic, Digest) is not ours: say the key is malformed.
    if (match === null) throw Errors.malformedKey()
    fromAuthorization = match[1]
  }
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
