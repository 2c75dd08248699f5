// Shared test setup: a fresh PostgreSQL database per test file, the app built
// on it with its log output captured, and keys issued straight through the store.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import type { Test } from 'tap'
import { buildApp } from '../src/app.ts'
import { createKey, findOrCreateClient } from '../src/keys/store.ts'
import type { Scope } from '../src/keys/scopes.ts'

function adminUrl (): string {
  const url = process.env.TEST_DATABASE_URL
  if (url === undefined || url === '') {
    throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test`, which starts an embedded PostgreSQL when none is given.')
  }
  return url
}
const ADMIN_URL = adminUrl()

/** A key's exact shape: any such string in a log line is a leak. */
export const KEY_SHAPE = /clk_[0-9A-Za-z]{49}/

/** Creates an empty database for this test file and drops it when the file ends. */
export async function testDatabaseUrl (t: Test): Promise<string> {
  const name = `cl_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: ADMIN_URL })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

export interface TestApp {
  app: FastifyInstance
  databaseUrl: string
  /** Every line the service logged, parsed. */
  logLines: () => string[]
}

/** Builds the app on a fresh database; closes it when the test ends. */
export async function buildTestApp (t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? await testDatabaseUrl(t)
  const lines: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''))
      done()
    }
  })
  const app = await buildApp({
    env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'trace', ...env },
    logStream
  })
  t.teardown(async () => { await app.close() })
  return { app, databaseUrl, logLines: () => lines }
}

export interface IssuedKey {
  apiKey: string
  clientId: string
  keyId: string
}

export async function issueKey (app: FastifyInstance, clientName: string, options: { scopes?: Scope[], expiresAt?: Date } = {}): Promise<IssuedKey> {
  const { client } = await findOrCreateClient(app.db, clientName)
  const { apiKey, info } = await createKey(app.db, {
    clientId: client.id,
    scopes: options.scopes ?? ['logs:write', 'logs:read'],
    expiresAt: options.expiresAt ?? null
  })
  return { apiKey, clientId: client.id, keyId: info.id }
}

/** A valid log entry, with overrides. */
export function entry (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { environment: 'production', executed_at: '2026-11-20T10:00:00.000Z', status: 'SUCCESS', ...overrides }
}
