// A PostgreSQL cluster of the test's own (the embedded server in a temporary
// directory), which the test may stop, start again on the same port, or
// reconfigure for the whole server, as it could never do to a shared one.
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Kysely } from 'kysely'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { openEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import { createKey } from '../../src/keys/store.ts'
import type { Scope } from '../../src/keys/scopes.ts'

export interface OwnPostgres {
  /** A superuser's URL of the service's database on it. */
  url: string
  dataDir: string
  /** Fast shutdown: every connection is ended (57P01), the committed is kept. */
  stop: () => Promise<void>
  /** Starts it again on the same port and directory. */
  start: () => Promise<void>
}

export async function ownPostgres (t: Test): Promise<OwnPostgres> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'central-logger-faults-'))
  // As root, PostgreSQL runs as the `postgres` user, which must reach this directory.
  await chmod(dataDir, 0o755)
  let server: EmbeddedDatabase | undefined = await openEmbeddedPostgres({ dataDir, port: 0 })
  const url = server.url
  const port = Number(new URL(url).port)
  const own: OwnPostgres = {
    url,
    dataDir,
    stop: async () => {
      await server?.stop()
      server = undefined
    },
    start: async () => {
      server ??= await openEmbeddedPostgres({ dataDir, port })
    }
  }
  t.teardown(async () => {
    await own.stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return own
}

export interface Tenant {
  clientId: string
  apiKey: string
  keyId: string
}

/** Migrates the database and gives it a client with a key, through the stores the CLI uses. */
export async function migratedWithTenant (url: string, scopes: Scope[] = ['logs:write', 'logs:read']): Promise<Tenant> {
  await onDatabase(url, async (db) => { await migrateToLatest(db) })
  return await addTenant(url, 'acme', scopes)
}

/** A client of that name (made if new) with a new key. */
export async function addTenant (url: string, clientName: string, scopes: Scope[] = ['logs:write', 'logs:read']): Promise<Tenant> {
  return await onDatabase(url, async (db) => {
    const { client } = await findOrCreateClient(db, clientName)
    const { apiKey, info } = await createKey(db, { clientId: client.id, scopes })
    return { clientId: client.id, apiKey, keyId: info.id }
  })
}

async function onDatabase<T> (url: string, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  // Connections cut by the test's faults are no failure of this handle.
  const db = connect(url, { poolMax: 1, onPoolError: () => {} })
  try {
    return await work(db)
  } finally {
    await db.destroy()
  }
}
