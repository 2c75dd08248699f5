// Every authenticated route, the valid request each corpus spoils, and the
// generator of its corpus. Ordered so that the routes that could change the
// most (rotation, revocation) come last.
import type { HostileCase } from './check.ts'
import { createKeyCases, getKeyCases, listKeysCases, patchKeyCases, revokeKeyCases, rotateKeyCases } from './keys-cases.ts'
import { exportCases, ingestCases, listCases, logByIdCases, statsCases } from './logs-cases.ts'
import type { Prng } from './prng.ts'
import { auditCases, usageCases } from './reports-cases.ts'
import type { Target } from './target.ts'
import type { World } from './world.ts'

export interface RouteCorpus {
  target: (world: World) => Target
  generate: (target: Target, world: World, prng: Prng) => HostileCase[]
}

const VALID_ENTRY = '{"environment":"production","executed_at":"2026-11-20T10:00:00Z","status":"SUCCESS"}'

function aim (route: string, path: string, scope: Target['scope'], options: { body?: string, refusesGraced?: boolean } = {}): Target {
  const method = route.slice(0, route.indexOf(' ')) as Target['method']
  return { route, method, path, scope, refusesGraced: options.refusesGraced ?? false, ...(options.body === undefined ? {} : { body: options.body }) }
}

export const ROUTES: RouteCorpus[] = [
  { target: () => aim('POST /api/v1/logs', '/api/v1/logs', 'logs:write', { body: VALID_ENTRY }), generate: ingestCases },
  { target: () => aim('GET /api/v1/logs', '/api/v1/logs', 'logs:read'), generate: listCases },
  { target: () => aim('GET /api/v1/logs/export', '/api/v1/logs/export', 'logs:read'), generate: exportCases },
  { target: () => aim('GET /api/v1/logs/stats', '/api/v1/logs/stats', 'logs:read'), generate: statsCases },
  { target: (world) => aim('GET /api/v1/logs/:id', `/api/v1/logs/${world.ownLogIds[0]!}`, 'logs:read'), generate: logByIdCases },
  { target: () => aim('GET /api/v1/keys', '/api/v1/keys', 'keys:manage'), generate: listKeysCases },
  { target: (world) => aim('GET /api/v1/keys/:id', `/api/v1/keys/${world.victim.keyId}`, 'keys:manage'), generate: getKeyCases },
  { target: () => aim('POST /api/v1/keys', '/api/v1/keys', 'keys:manage', { body: '{"name":"corpus"}', refusesGraced: true }), generate: createKeyCases },
  { target: () => aim('GET /api/v1/audit', '/api/v1/audit', 'keys:manage'), generate: auditCases },
  { target: () => aim('GET /api/v1/usage', '/api/v1/usage', 'keys:manage'), generate: usageCases },
  {
    target: (world) => aim('PATCH /api/v1/keys/:id', `/api/v1/keys/${world.victim.keyId}`, 'keys:manage', { body: '{"name":"corpus"}', refusesGraced: true }),
    generate: patchKeyCases
  },
  {
    target: (world) => aim('POST /api/v1/keys/:id/rotate', `/api/v1/keys/${world.victim.keyId}/rotate`, 'keys:manage', { body: '{"grace_seconds":60}', refusesGraced: true }),
    generate: rotateKeyCases
  },
  { target: (world) => aim('DELETE /api/v1/keys/:id', `/api/v1/keys/${world.victim.keyId}`, 'keys:manage', { refusesGraced: true }), generate: revokeKeyCases }
]
