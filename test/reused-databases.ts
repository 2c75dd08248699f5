// Copies of the migrated template, used again within a test file. Making a
// copy and dropping it costs PostgreSQL about a quarter of a CPU-second (it
// copies the whole catalog); emptying one costs a few milliseconds. So a
// database whose test has ended is set aside, and the next test that asks
// for one gets it back emptied: the sessions still on it ended, every table
// truncated, identities restarted, as a fresh copy is. A database whose
// schema or settings its test changed (a trigger, a constraint, a setting,
// planner statistics), or that could not be emptied, is dropped instead.
import type pg from 'pg'
import { databaseUrl, onDatabase } from '../scripts/lib/server-databases.ts'

// What a test could change that emptying the tables would not undo.
const FINGERPRINT = `
  select md5(string_agg(line, E'\\n' order by line)) as fingerprint from (
    select format('relation %s %s %s', relname, relkind, relpersistence) as line
      from pg_class where relnamespace = 'public'::regnamespace
    union all
    select format('column %s %s %s %s %s %s', c.relname, a.attname, a.atttypid::regtype, a.attnotnull, a.attstattarget,
                  pg_get_expr(d.adbin, d.adrelid))
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped
    union all
    select format('constraint %s %s', conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace = 'public'::regnamespace
    union all
    select format('index %s', indexdef) from pg_indexes where schemaname = 'public'
    union all
    select format('trigger %s %s %s', tgname, tgrelid::regclass, tgenabled) from pg_trigger where not tgisinternal
    union all
    select format('function %s %s', oid::regprocedure, md5(prosrc)) from pg_proc where pronamespace = 'public'::regnamespace
    union all
    select format('schema %s', nspname) from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'
    union all
    select format('extension %s %s', extname, extversion) from pg_extension
    union all
    select format('settings %s', setconfig) from pg_db_role_setting
      where setdatabase = (select oid from pg_database where datname = current_database())
    union all
    select format('database %s %s', datconnlimit, datallowconn) from pg_database where datname = current_database()
    union all
    select format('statistics %s', count(*)) from pg_statistic s join pg_class c on c.oid = s.starelid
      where c.relnamespace = 'public'::regnamespace
  ) as catalog`

const TABLES = `
  select string_agg(format('%I', tablename), ', ') as tables from pg_tables
  where schemaname = 'public' and tablename not like 'kysely\\_migration%'`

async function fingerprintOf (client: pg.Client): Promise<string> {
  const { rows: [row] } = await client.query<{ fingerprint: string }>(FINGERPRINT)
  return row!.fingerprint
}

export class ReusedDatabases {
  readonly #adminUrl: string
  readonly #create: () => Promise<string>
  /** A fresh copy's fingerprint, taken from the first copy made. */
  #fresh: Promise<string> | undefined
  /** Databases whose tests have ended, not yet emptied. */
  readonly #setAside: string[] = []

  constructor (adminUrl: string, create: () => Promise<string>) {
    this.#adminUrl = adminUrl
    this.#create = create
  }

  /** An emptied database set aside by an ended test, else a new copy. Databases that cannot be used again go to `drop`. */
  async take (drop: (name: string) => void): Promise<string> {
    for (let name = this.#setAside.pop(); name !== undefined; name = this.#setAside.pop()) {
      if (await this.#emptied(name)) return name
      drop(name)
    }
    const name = await this.#create()
    // Taken before its test can change it.
    this.#fresh ??= onDatabase(databaseUrl(this.#adminUrl, name), fingerprintOf)
    await this.#fresh.catch(() => {})
    return name
  }

  /** Sets a database aside once its test has ended (every session on it is ended when it is taken again). */
  setAside (name: string): void {
    this.#setAside.push(name)
  }

  /** The databases set aside and not taken again, handed over to be dropped. */
  leftOver (): string[] {
    return this.#setAside.splice(0)
  }

  /** Whether the database was emptied, as a fresh copy; false when it differs from one, or failed to be emptied. */
  async #emptied (name: string): Promise<boolean> {
    const fresh = await this.#fresh?.catch(() => undefined)
    if (fresh === undefined) return false
    try {
      return await onDatabase(databaseUrl(this.#adminUrl, name), async (client) => {
        // A session its test left open (a pool not closed, a held lock) must not outlive the test, as with a drop.
        await client.query(`select pg_terminate_backend(pid) from pg_stat_activity
                            where datname = current_database() and pid <> pg_backend_pid()`)
        if (await fingerprintOf(client) !== fresh) return false
        const { rows: [listed] } = await client.query<{ tables: string }>(TABLES)
        // A terminated session's locks go with it; should one linger, the truncation gives up rather than wait.
        await client.query("set lock_timeout = '5s'")
        // As a replica applies changes: no trigger runs (audit_events refuses TRUNCATE to everyone else).
        await client.query('set session_replication_role = replica')
        await client.query(`truncate ${listed!.tables} restart identity`)
        return true
      })
    } catch {
      return false
    }
  }
}
