// Opens a Kysely handle over a pg pool.
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'

// COUNT(*) and other int8 values arrive as strings by default. Every int8 this
// service reads is a count far below 2^53, so plain numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export interface ConnectOptions {
  poolMax?: number
  connectTimeoutMs?: number
  onPoolError?: (err: Error) => void
}

export function connect (connectionString: string, options: ConnectOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'central-logger'
  })
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', options.onPoolError ?? (() => {}))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
