// A route under test, and the request to it that would be valid with the
// admin key: each generator spoils one part of it and keeps the rest, so
// that the spoiled part is what the service must refuse.
import type { HTTPMethods } from 'fastify'
import type { Scope } from '../../src/keys/scopes.ts'
import type { HostileCase } from './check.ts'

export interface Target {
  /** `METHOD /path` as the routes declare it. */
  route: string
  method: HTTPMethods
  /** The path of the valid request, with real ids filled in. */
  path: string
  /** The valid request's JSON body, for a route that takes one. */
  body?: string
  scope: Scope
  /** Whether a key in its rotation grace is refused here (the key-changing routes). */
  refusesGraced: boolean
}

/** Headers with the key in X-API-Key and, when a body is sent, a Content-Type. */
export function keyHeaders (apiKey: string, contentType?: string): Record<string, string> {
  return { 'x-api-key': apiKey, ...(contentType === undefined ? {} : { 'content-type': contentType }) }
}

/** The target's valid request with the given parts replaced. */
export function spoil (target: Target, apiKey: string, name: string, parts: Partial<HostileCase> = {}): HostileCase {
  // An explicit `payload: undefined` sends no body at all.
  const payload = 'payload' in parts ? parts.payload : target.body
  return {
    name,
    method: target.method,
    url: target.path,
    headers: keyHeaders(apiKey, payload === undefined ? undefined : 'application/json'),
    ...(payload === undefined ? {} : { payload }),
    ...parts
  }
}
