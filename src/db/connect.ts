// Opens a Kysely handle over a pg pool.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'

// COUNT(*) and other int8 values arrive as strings by default. Every int8 this
// service reads is a count far below 2^53, so plain numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))
// A DATE is a calendar day, not an instant: kept as its YYYY-MM-DD text rather
// than turned into a Date at local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value)

export interface ConnectOptions {
  poolMax?: number
  connectTimeoutMs?: number
  onPoolError?: (err: Error) => void
  /** Server-side limit on each statement's run time (PostgreSQL statement_timeout); none when absent. */
  statementTimeoutMs?: number
  /** How the pool's connections are named in pg_stat_activity. */
  applicationName?: string
}

// Each pool's open connections, so that closing it can wait for them (endPool).
const openConnections = new WeakMap<pg.Pool, Set<pg.PoolClient>>()

/** A pg pool whose lost connections are reported rather than crash the process. */
export function createPool (connectionString: string, options: ConnectOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: options.applicationName ?? 'central-logger',
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs })
  })
  // A connection lost while idle in the pool, or while a request holds it
  // (database restart, failover), must not crash the process: the query in
  // flight fails on its own and the request answers 503.
  const onError = options.onPoolError ?? (() => {})
  const open = new Set<pg.PoolClient>()
  pool.on('error', onError)
  pool.on('connect', (client) => {
    client.on('error', onError)
    open.add(client)
    client.once('end', () => { open.delete(client) })
  })
  openConnections.set(pool, open)
  return pool
}

/**
 * Closes the pool and waits for its connections to be closed. pg's
 * pool.end() resolves once it has asked its connections to end, not once
 * they have: a server stopped right after (the embedded PostgreSQL at
 * shutdown) would cut them first.
 */
export async function endPool (pool: pg.Pool): Promise<void> {
  const ending = [...openConnections.get(pool) ?? []].map(async (client) => { await new Promise((resolve) => client.once('end', resolve)) })
  await pool.end()
  await Promise.all(ending)
}

export function connect (connectionString: string, options: ConnectOptions = {}): Kysely<Database> {
  return connectWithPool(connectionString, options).db
}

/**
 * A Kysely handle and the pg pool under it. The pool is for the statements
 * Kysely cannot run: a named (prepared) statement, parsed and planned once per
 * connection, where one statement is the whole of a hot path. Destroying `db`
 * closes the pool.
 */
export function connectWithPool (connectionString: string, options: ConnectOptions = {}): { db: Kysely<Database>, pool: pg.Pool } {
  const pool = createPool(connectionString, options)
  const closing = { connect: async () => await pool.connect(), end: async () => { await endPool(pool) } }
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: closing }) }), pool }
}
