// The error body every route declares for its 4xx/5xx answers.
import { Type } from '@sinclair/typebox'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String({ description: 'The HTTP reason phrase.' }),
  code: Type.String({ description: 'Stable, machine-readable error code.' }),
  message: Type.String(),
  details: Type.Optional(Type.Unknown())
}, { $id: 'ErrorResponse', description: 'Error' })

const ErrorRef = Type.Ref('ErrorResponse')

/** `{ 400: ErrorResponse, 401: ErrorResponse, ... }` for the given status codes. */
export function errorResponses (...codes: number[]): Record<number, typeof ErrorRef> {
  return Object.fromEntries(codes.map((code) => [code, ErrorRef]))
}

/** The errors any authenticated route can answer (429: rate limits and failed-authentication throttling). */
export const AUTHENTICATED_ERRORS = [400, 401, 403, 429, 503]
