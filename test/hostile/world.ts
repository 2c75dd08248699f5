// The tenants, keys, logs and cursors the corpus aims at: a key with every
// scope that must stay valid throughout, keys that each lack something, keys
// that are revoked, expired, in their rotation grace or fenced in by an
// allowlist, and a second tenant whose ids and cursors are foreign to the
// first.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { LogPageBody, StoredLogBody } from '../../src/logs/schemas.ts'
import type { RotatedKeyBody } from '../../src/keys/schemas.ts'
import { buildTestApp, callApi, entry, issueKey, postLogs, type IssuedKey } from '../helper.ts'

const ALL_SCOPES = ['logs:write', 'logs:read', 'keys:manage'] as const

// Limits low enough that exceeding them is cheap, and request budgets high
// enough that thousands of requests in a row are never throttled.
export const CORPUS_ENV = {
  // Thousands of refusals: logged at info, they would cost more than they are sent for.
  LOG_LEVEL: 'warn',
  MAX_BODY_BYTES: '65536',
  MAX_BATCH_ENTRIES: '50',
  RATE_LIMIT_MAX: '1000000',
  INGEST_RATE_LIMIT: '100000000',
  USAGE_FLUSH_SECONDS: '300'
}
export const MAX_BODY_BYTES = Number(CORPUS_ENV.MAX_BODY_BYTES)
export const MAX_BATCH_ENTRIES = Number(CORPUS_ENV.MAX_BATCH_ENTRIES)

export interface World {
  app: FastifyInstance
  /** Every scope: the key of every case that is meant to reach validation. It must work to the end. */
  admin: IssuedKey
  writer: IssuedKey
  reader: IssuedKey
  manager: IssuedKey
  /** A plain key of the same tenant: what the key routes are aimed at. */
  victim: IssuedKey
  revoked: IssuedKey
  expired: IssuedKey
  /** Every scope, rotated: accepted until its grace ends, but it may manage no key. */
  graced: IssuedKey
  /** Every scope, allowed from 10.0.0.0/8 only, so refused from anywhere a case comes from. */
  fenced: IssuedKey
  /** Every scope, allowed from 127.0.0.0/8 only, so it may grant nothing wider. */
  confined: IssuedKey
  /** The other tenant's key with every scope. */
  other: IssuedKey
  ownLogIds: string[]
  otherLogIds: string[]
  otherKeyIds: string[]
  /** The admin's next_cursor in the default order (desc), and in asc. */
  cursor: string
  ascCursor: string
  otherCursor: string
  /** Every plaintext key: none may appear in an answer. */
  secrets: string[]
}

async function seedLogs (app: FastifyInstance, key: IssuedKey, tag: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await postLogs(app, key.apiKey, entry({ event_id: `${tag}-${i}`, message: `${tag} seed ${i}`, executed_at: `2026-11-20T10:0${i}:00.000Z` }))
    if (res.statusCode !== 201) throw new Error(`seeding ${tag} answered ${res.statusCode}: ${res.body}`)
    ids.push(res.json<StoredLogBody>().id)
  }
  return ids
}

async function nextCursor (app: FastifyInstance, key: IssuedKey, order: 'asc' | 'desc'): Promise<string> {
  const res = await callApi(app, key.apiKey, 'GET', `/api/v1/logs?limit=1&order=${order}`)
  const cursor = res.json<LogPageBody>().next_cursor
  if (cursor === null) throw new Error('a one-row page of three rows has a next cursor')
  return cursor
}

async function expectCall (app: FastifyInstance, key: IssuedKey, method: 'POST' | 'DELETE', url: string, status: number, body?: unknown): Promise<string> {
  const res = await callApi(app, key.apiKey, method, url, body)
  if (res.statusCode !== status) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`)
  return res.body
}

export async function buildWorld (t: Test): Promise<World> {
  const { app } = await buildTestApp(t, CORPUS_ENV)
  const scopes = [...ALL_SCOPES]
  const admin = await issueKey(app, 'acme', { name: 'admin', scopes })
  const writer = await issueKey(app, 'acme', { name: 'writer', scopes: ['logs:write'] })
  const reader = await issueKey(app, 'acme', { name: 'reader', scopes: ['logs:read'] })
  const manager = await issueKey(app, 'acme', { name: 'manager', scopes: ['keys:manage'] })
  const victim = await issueKey(app, 'acme', { name: 'victim' })
  const revoked = await issueKey(app, 'acme', { name: 'revoked', scopes })
  const expired = await issueKey(app, 'acme', { name: 'expired', scopes, expiresAt: new Date(Date.now() - 60_000) })
  const graced = await issueKey(app, 'acme', { name: 'graced', scopes })
  const fenced = await issueKey(app, 'acme', { name: 'fenced', scopes, allowedCidrs: ['10.0.0.0/8'] })
  const confined = await issueKey(app, 'acme', { name: 'confined', scopes, allowedCidrs: ['127.0.0.0/8'] })
  const other = await issueKey(app, 'umbrella', { name: 'other admin', scopes })
  const otherSpare = await issueKey(app, 'umbrella', { name: 'other spare' })

  await expectCall(app, admin, 'DELETE', `/api/v1/keys/${revoked.keyId}`, 200)
  const rotation = JSON.parse(await expectCall(app, admin, 'POST', `/api/v1/keys/${graced.keyId}/rotate`, 201, { grace_seconds: 3600 })) as RotatedKeyBody

  const ownLogIds = await seedLogs(app, admin, 'acme')
  const otherLogIds = await seedLogs(app, other, 'umbrella')
  const keys = [admin, writer, reader, manager, victim, revoked, expired, graced, fenced, confined, other, otherSpare]
  return {
    app,
    admin,
    writer,
    reader,
    manager,
    victim,
    revoked,
    expired,
    graced,
    fenced,
    confined,
    other,
    ownLogIds,
    otherLogIds,
    otherKeyIds: [other.keyId, otherSpare.keyId],
    cursor: await nextCursor(app, admin, 'desc'),
    ascCursor: await nextCursor(app, admin, 'asc'),
    otherCursor: await nextCursor(app, other, 'desc'),
    secrets: [...keys.map((key) => key.apiKey), rotation.api_key]
  }
}
