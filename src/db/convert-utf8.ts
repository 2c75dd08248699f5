// Moves the embedded PostgreSQL's database to UTF-8 when an earlier version
// made it SQL_ASCII (its cluster initialised without LANG), keeping every row:
// a UTF-8 database beside it gets the schema from the migrations and a copy of
// every table (PostgreSQL checks each row is valid UTF-8 as it arrives), the
// row counts are compared, and only then does it take the old one's name and
// the old one go. Run with the service stopped: the server must be this
// process's own, so nothing writes while it copies. A run that was cut short
// is picked up where it stopped by running it again.
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { connect } from './connect.ts'
import { EMBEDDED_DATABASE, type EmbeddedDatabase } from './embedded.ts'
import { migrateToLatest } from './migrate.ts'

const NEW = `${EMBEDDED_DATABASE}_utf8`
const OLD = `${EMBEDDED_DATABASE}_sql_ascii`

/** Converts the database of a server this process started (openEmbeddedPostgres), which it leaves running. */
export async function convertEmbeddedToUtf8 (server: EmbeddedDatabase, dataDir: string, say: (line: string) => void): Promise<void> {
  if (!server.owned) {
    throw new Error(`The embedded PostgreSQL of ${dataDir} is in use by another process (the service, or a key command): stop it, then run this again.`)
  }
  const admin = new pg.Client(withDatabase(server.url, 'postgres'))
  await admin.connect()
  try {
    await convert(admin, server.url, say)
  } finally {
    await admin.end()
  }
}

async function convert (admin: pg.Client, url: string, say: (line: string) => void): Promise<void> {
  const encodings = new Map((await admin.query<{ datname: string, encoding: string }>(
    'select datname, pg_encoding_to_char(encoding) as encoding from pg_database where datname = any($1)',
    [[EMBEDDED_DATABASE, NEW, OLD]])).rows.map((row) => [row.datname, row.encoding]))
  // Cut short after the old database was renamed: the new one is complete, only the swap is left.
  if (!encodings.has(EMBEDDED_DATABASE) && encodings.has(NEW) && encodings.has(OLD)) {
    await admin.query(`alter database ${NEW} rename to ${EMBEDDED_DATABASE}`)
    encodings.set(EMBEDDED_DATABASE, 'UTF8')
  }
  if (encodings.get(EMBEDDED_DATABASE) === 'UTF8') {
    if (encodings.has(OLD)) await admin.query(`drop database ${OLD}`)
    say(`The database is UTF-8${encodings.has(OLD) ? ' (the SQL_ASCII copy left by an earlier run is now removed)' : ''}: nothing to do.`)
    return
  }
  // Cut short while copying: that copy is incomplete, and the old database untouched.
  if (encodings.has(NEW)) await admin.query(`drop database ${NEW}`)

  // Both at the latest schema, so that they have the same tables and columns.
  await migrate(url)
  await admin.query(`create database ${NEW} template template0 encoding 'UTF8' locale_provider builtin builtin_locale 'C.UTF-8' lc_collate 'C' lc_ctype 'C'`)
  await migrate(withDatabase(url, NEW))
  const rows = await copyEverything(url, withDatabase(url, NEW))
  await admin.query(`alter database ${EMBEDDED_DATABASE} rename to ${OLD}`)
  await admin.query(`alter database ${NEW} rename to ${EMBEDDED_DATABASE}`)
  await admin.query(`drop database ${OLD}`)
  say(`The database is now UTF-8: ${rows} rows copied, every table's count checked.`)
}

async function migrate (url: string): Promise<void> {
  const db = connect(url, { poolMax: 1 })
  try {
    await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
}

/** Copies every table in one transaction, as the rows were (triggers and foreign keys not applied again); the rows copied. */
async function copyEverything (sourceUrl: string, targetUrl: string): Promise<number> {
  const source = new pg.Client(sourceUrl)
  const target = new pg.Client(targetUrl)
  await source.connect()
  await target.connect()
  try {
    const tables = (await source.query<{ name: string, columns: string[] }>(`
      select c.relname as name, array_agg(a.attname::text order by a.attnum) as columns
      from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
        and c.relname not like 'kysely\\_migration%' and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      group by c.relname order by c.relname`)).rows
    await target.query('begin')
    // Rows as they were: no trigger fires (an append-only audit trail, change notifications), no foreign key is checked again.
    await target.query('set local session_replication_role = replica')
    await target.query(`truncate ${tables.map((table) => qualified(target, table.name)).join(', ')}`)
    let total = 0
    for (const table of tables) {
      const columns = table.columns.map((column) => target.escapeIdentifier(column)).join(', ')
      await pipeline(
        source.query(copyTo(`copy (select ${columns} from ${qualified(source, table.name)}) to stdout`)),
        target.query(copyFrom(`copy ${qualified(target, table.name)} (${columns}) from stdin`))
      )
      const count = async (client: pg.Client): Promise<number> =>
        Number((await client.query<{ n: string }>(`select count(*) as n from ${qualified(client, table.name)}`)).rows[0]?.n)
      const [copied, there] = await Promise.all([count(target), count(source)])
      if (copied !== there) throw new Error(`${table.name}: ${there} rows, but ${copied} arrived`)
      total += copied
    }
    const sequences = (await source.query<{ name: string, value: string }>(
      "select sequencename as name, last_value as value from pg_sequences where schemaname = 'public' and last_value is not null")).rows
    for (const sequence of sequences) await target.query('select setval($1::regclass, $2)', [qualified(target, sequence.name), sequence.value])
    await target.query('commit')
    return total
  } finally {
    await Promise.all([source.end(), target.end()])
  }
}

function qualified (client: pg.Client, name: string): string {
  return `public.${client.escapeIdentifier(name)}`
}

function withDatabase (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
