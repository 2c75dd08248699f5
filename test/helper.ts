// Shared test setup: a fresh PostgreSQL database for each test that asks for
// one, the app built on it with its log output captured, keys issued straight through the store,
// and the ingest call and error checks that several test files make.
import { randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { databaseUrl, onServer } from '../scripts/lib/server-databases.ts'
import tap, { type Test } from 'tap'
import { buildApp, type BuildOptions } from '../src/app.ts'
import type { ErrorBody } from '../src/errors.ts'
import { createKey } from '../src/keys/store.ts'
import { findOrCreateClient } from '../src/clients/store.ts'
import type { Scope } from '../src/keys/scopes.ts'
import { ReusedDatabases } from './reused-databases.ts'

function adminUrl (): string {
  const url = process.env.TEST_DATABASE_URL
  if (url === undefined || url === '') {
    throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test`, which starts an embedded PostgreSQL when none is given.')
  }
  return url
}
const ADMIN_URL = adminUrl()

/**
 * The migrated database `npm test` makes for the run, which each test database
 * copies; without it (a file run on its own with tap), a test database starts
 * empty and the app migrates it.
 */
function templateDatabase (): string | undefined {
  const name = process.env.TEST_TEMPLATE_DATABASE
  if (name === undefined || name === '') return undefined
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`TEST_TEMPLATE_DATABASE is not a plain database name: ${name}`)
  return name
}
const TEMPLATE = templateDatabase()

/** A key's exact shape: any such string in a log line is a leak. */
export const KEY_SHAPE = /clk_[0-9A-Za-z]{49}/

/**
 * The Redis a test file's Redis tests use (REDIS_URL), or, when none is set,
 * why they skip: given to tap's `skip`, and said in the file's output.
 */
export function testRedis (t: Test, untested: string): { url: string, skip: string | false } {
  const url = process.env.REDIS_URL ?? ''
  const skip = url === '' ? `REDIS_URL is not set: ${untested}` : false
  if (skip !== false) t.comment(skip)
  return { url, skip }
}

async function createDatabase (template: string | undefined): Promise<string> {
  const name = `cl_test_${randomBytes(6).toString('hex')}`
  await onServer(ADMIN_URL, template === undefined ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`)
  return name
}

async function dropDatabase (name: string): Promise<void> {
  await onServer(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

// A test's database is used again by a later test of the file, emptied
// (reused-databases.ts); one that cannot be is dropped meanwhile. The file
// drops what is left at its end, and waits for every drop.
const drops: Array<Promise<unknown>> = []
const reused = TEMPLATE === undefined ? undefined : new ReusedDatabases(ADMIN_URL, async () => await createDatabase(TEMPLATE))
let waitsAtEnd = false

function atFileEnd (): void {
  if (waitsAtEnd) return
  waitsAtEnd = true
  tap.teardown(async () => {
    for (const name of reused?.leftOver() ?? []) dropLater(name)
    await Promise.all(drops)
  })
}

function dropLater (name: string): void {
  const dropping = dropDatabase(name)
  // A failure is reported at the file's end, where every drop is awaited.
  dropping.catch(() => {})
  drops.push(dropping)
  atFileEnd()
}

/**
 * A database for this test, as a fresh copy of the migrated template under
 * `npm test` (used again by a later test once this one ends), or empty when
 * asked (for a test of the migrations), dropped when the test ends.
 */
export async function testDatabaseUrl (t: Test, { empty = false }: { empty?: boolean } = {}): Promise<string> {
  atFileEnd()
  if (empty || reused === undefined) {
    const name = await createDatabase(undefined)
    t.teardown(() => { dropLater(name) })
    return databaseUrl(ADMIN_URL, name)
  }
  const name = await reused.take(dropLater)
  t.teardown(() => { reused.setAside(name) })
  return databaseUrl(ADMIN_URL, name)
}

export interface TestApp {
  app: FastifyInstance
  databaseUrl: string
  /** Every line the service logged, parsed. */
  logLines: () => string[]
}

/** Builds the app on a database of its own; closes it when the test ends. */
export async function buildTestApp (t: Test, env: Record<string, string> = {}, options: Pick<BuildOptions, 'ingestClock' | 'explorerDir' | 'webhookClock'> = {}): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? await testDatabaseUrl(t)
  const lines: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''))
      done()
    }
  })
  const app = await buildApp({
    // Most files send many bad keys from one address on purpose; the throttle
    // that would answer them 429 is tested on its own, where it is switched on.
    env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'trace', AUTH_FAIL_MAX: '0', ...env },
    logStream,
    ...options
  })
  t.teardown(async () => { await app.close() })
  return { app, databaseUrl, logLines: () => lines }
}

/** Listens on a free loopback port; its number. */
export async function loopbackPort (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port')
  return address.port
}

export interface IssuedKey {
  apiKey: string
  clientId: string
  keyId: string
}

export interface IssueKeyOptions {
  scopes?: Scope[]
  expiresAt?: Date
  name?: string
  /** Normalized CIDR ranges, as the store keeps them (`10.0.0.0/8`, `192.0.2.7/32`). */
  allowedCidrs?: string[]
}

export async function issueKey (app: FastifyInstance, clientName: string, options: IssueKeyOptions = {}): Promise<IssuedKey> {
  const { client } = await findOrCreateClient(app.db, clientName)
  const { apiKey, info } = await createKey(app.db, {
    clientId: client.id,
    scopes: options.scopes ?? ['logs:write', 'logs:read'],
    name: options.name ?? null,
    expiresAt: options.expiresAt ?? null,
    allowedCidrs: options.allowedCidrs ?? null
  })
  return { apiKey, clientId: client.id, keyId: info.id }
}

/** A valid log entry, with overrides. */
export function entry (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { environment: 'production', executed_at: '2026-11-20T10:00:00.000Z', status: 'SUCCESS', ...overrides }
}

export interface PostLogsOptions {
  /** Appended to the path as given, e.g. `?partial=true`. */
  query?: string
  contentType?: string
  encoding?: string
  /** Sent besides the key, and over the defaults above. */
  headers?: Record<string, string>
}

/**
 * POST /api/v1/logs with the key in X-API-Key. An object or array is sent as
 * JSON; a string or Buffer goes as is, so that tests can send malformed JSON,
 * NDJSON and compressed bytes.
 */
export async function postLogs (app: FastifyInstance, apiKey: string, body: unknown, options: PostLogsOptions = {}): Promise<LightMyRequestResponse> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  return await app.inject({
    method: 'POST',
    url: `/api/v1/logs${options.query ?? ''}`,
    headers: {
      'x-api-key': apiKey,
      'content-type': options.contentType ?? 'application/json',
      ...(options.encoding === undefined ? {} : { 'content-encoding': options.encoding }),
      ...options.headers
    },
    payload
  })
}

export interface CallOptions {
  /** The client's address as the service sees it (app.inject's default is 127.0.0.1). */
  remoteAddress?: string
}

/**
 * An authenticated call with the key in X-API-Key; a body, when given, is sent
 * as JSON, and without one the request has no body and no Content-Type.
 */
export async function callApi (app: FastifyInstance, apiKey: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string,
  body?: unknown, options: CallOptions = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method,
    url,
    headers: { 'x-api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress })
  })
}

/** Rows in logs, optionally one client's: what a refused request must leave as it was. */
export async function countLogs (app: FastifyInstance, clientId?: string): Promise<number> {
  let query = app.db.selectFrom('logs').select((eb) => eb.fn.countAll<number>().as('n'))
  if (clientId !== undefined) query = query.where('client_id', '=', clientId)
  const row = await query.executeTakeFirstOrThrow()
  return Number(row.n)
}

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode']

/**
 * The response is the one documented error shape (src/errors.ts): its status,
 * JSON, exactly these fields besides an optional details, the standard reason
 * phrase, and on a 401 the WWW-Authenticate a client needs. Without `code`, any
 * string code passes, for answers where several codes are right.
 */
export function expectError (t: Test, res: LightMyRequestResponse, statusCode: number, code?: string): ErrorBody {
  t.equal(res.statusCode, statusCode, `answers ${statusCode}`)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json<ErrorBody>()
  const keys = Object.keys(body).filter((key) => key !== 'details').sort()
  t.same(keys, ERROR_KEYS, 'exactly statusCode, error, code, message (and optional details)')
  t.equal(body.statusCode, statusCode)
  t.type(body.error, 'string')
  t.equal(body.error, STATUS_CODES[statusCode])
  t.type(body.code, 'string')
  if (code !== undefined) t.equal(body.code, code)
  t.type(body.message, 'string')
  t.ok(typeof body.message === 'string' && body.message.length > 0, 'has a message')
  if (statusCode === 401) {
    t.match(res.headers['www-authenticate'], /\S/, 'a 401 carries WWW-Authenticate')
  }
  return body
}
