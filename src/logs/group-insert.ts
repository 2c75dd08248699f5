// The statement behind group commit: the entries of several requests, of one
// client or of several, in one INSERT and one commit. Each row carries the
// client_id of the authenticated client that sent it, and the only read here
// (the logs that idempotent replays return) is by (client_id, event_id) pairs
// taken from those rows: no tenant can reach another's logs through a group.
//
// It runs on the pg pool rather than through Kysely: the insert is a named
// statement, parsed and planned once per connection and then only bound and
// executed, which took about a fifth of PostgreSQL's CPU per group away.
import type pg from 'pg'
import { arrayLiteral } from '../db/array-literal.ts'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import { newLogId } from './log-ids.ts'
import { PUBLIC_COLUMNS, type PublicLog, type StoredEntry } from './tenant-logs.ts'
import type { NormalizedEntry } from './validate.ts'

/** Where the statements run: the pg pool under the service's Kysely handle. */
export type Queryable = Pick<pg.Pool, 'query'>

export interface WriteRequest {
  client: AuthenticatedClient
  entries: readonly NormalizedEntry[]
  /** Whether the answer needs each stored log, not only its id (a single entry is answered with its log). */
  withLogs: boolean
}

/** A row to insert: an entry, or the first of the group's entries with its (client, event_id). */
interface Row {
  id: string
  entry: NormalizedEntry
  client: AuthenticatedClient
  /** The stored log, once inserted, when a request is answered with it. */
  log?: PublicLog
  /** The row was not inserted: a log with its (client, event_id) was stored before. */
  storedBefore?: PublicLog
}

/**
 * Stores the requests' entries in one statement and answers each request,
 * entry by entry in its order: its id, whether its event_id was stored before
 * (by an earlier request, earlier in the group or earlier in its batch: the
 * first one wins), and with `withLogs` the stored log. Atomic: a failure of
 * the statement stores nothing of any request; a CommittedGroupError comes
 * after the commit, when the replayed logs could not be read.
 */
export async function insertGroup (pool: Queryable, requests: readonly WriteRequest[]): Promise<StoredEntry[][]> {
  const firstByEventId = new Map<string, Row>()
  const slotsOf: Slot[][] = []
  const inserted: Row[] = []
  const wantedIds: string[] = []
  for (const { client, entries, withLogs } of requests) {
    const slots: Slot[] = []
    for (const entry of entries) {
      // A client id is a UUID, fixed length: the key cannot be read two ways.
      const key = entry.event_id === null ? undefined : client.id + entry.event_id
      const earlier = key === undefined ? undefined : firstByEventId.get(key)
      if (earlier !== undefined) {
        slots.push({ row: earlier, first: false })
        if (withLogs) wantedIds.push(earlier.id)
        continue
      }
      const row: Row = { id: newLogId(), entry, client }
      inserted.push(row)
      if (key !== undefined) firstByEventId.set(key, row)
      if (withLogs) wantedIds.push(row.id)
      slots.push({ row, first: true })
    }
    slotsOf.push(slots)
  }

  const byId = new Map(inserted.map((row) => [row.id, row]))
  const confirmed = new Set<Row>()
  const write = async (rows: readonly Row[]): Promise<Row[]> => {
    const returned = await insertRows(pool, rows, wantedIds)
    for (const log of returned) {
      const row = byId.get(log.id)!
      confirmed.add(row)
      if (log.received_at !== null) row.log = storedLog(row, log.received_at, log.attributes)
    }
    // A row with an event_id that the statement did not return was skipped by
    // the conflict clause: its event_id was stored before, and it replays that log.
    return rows.filter((row) => row.entry.event_id !== null && !confirmed.has(row))
  }
  let skipped = await write(inserted)
  // From here the rows are committed: a failure must not have them written again.
  try {
    for (let attempt = 1; skipped.length > 0; attempt++) {
      const gone = await findStoredBefore(pool, skipped)
      if (gone.length === 0) break
      // Deleted between the conflict and the read: written again, as if never stored.
      if (attempt === 3) throw new Error('logs stored before with the same event_id kept disappearing')
      skipped = await write(gone)
    }
  } catch (error) {
    throw new CommittedGroupError(error)
  }

  return slotsOf.map((slots, index) => {
    const withLogs = requests[index]!.withLogs
    return slots.map(({ row, first }) => {
      const log = row.storedBefore ?? row.log
      return {
        id: row.storedBefore?.id ?? row.id,
        duplicate: row.storedBefore !== undefined || !first,
        ...(withLogs ? { log } : {})
      }
    })
  })
}

/** A failure after the group's rows were committed: its requests must not be written again. */
export class CommittedGroupError extends Error {
  constructor (cause: unknown) {
    super('the entries were stored, but the logs their event_ids replay could not be read', { cause })
  }
}

/** An entry of a request: its row, and whether it is the entry that made the row (any later one is a replay). */
interface Slot { row: Row, first: boolean }

interface Returned { id: string, received_at: Date | null, attributes: Record<string, unknown> | null }

async function insertRows (pool: Queryable, rows: readonly Row[], wantedIds: string[]): Promise<Returned[]> {
  // One array per column, built in one pass: a thousand rows are one short statement with eighteen parameters,
  // each passed as its array literal (array-literal.ts).
  const n = rows.length
  const clientIds = new Array<string>(n)
  const keyIds = new Array<string>(n)
  const ids = new Array<string>(n)
  const eventIds = new Array<string | null>(n)
  const environments = new Array<string>(n)
  const executedAt = new Array<string>(n)
  const statuses = new Array<string>(n)
  const levels = new Array<string>(n)
  const messages = new Array<string | null>(n)
  const workflowIds = new Array<string | null>(n)
  const workflowNames = new Array<string | null>(n)
  const runIds = new Array<string | null>(n)
  const steps = new Array<string | null>(n)
  const durations = new Array<number | null>(n)
  const traceIds = new Array<string | null>(n)
  const attributes = new Array<string | null>(n)
  const sizes = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const { id, entry, client } = rows[i]!
    clientIds[i] = client.id
    keyIds[i] = client.keyId
    ids[i] = id
    eventIds[i] = entry.event_id
    environments[i] = entry.environment
    executedAt[i] = entry.executed_at.toISOString()
    statuses[i] = entry.status
    levels[i] = entry.level
    messages[i] = entry.message
    workflowIds[i] = entry.workflow_id
    workflowNames[i] = entry.workflow_name
    runIds[i] = entry.run_id
    steps[i] = entry.step
    durations[i] = entry.duration_ms
    traceIds[i] = entry.trace_id
    attributes[i] = entry.attributes
    sizes[i] = entry.size_bytes
  }
  const { rows: returned } = await pool.query<Returned>({
    name: 'insert_log_group',
    text: INSERT_GROUP,
    values: [clientIds, keyIds, ids, eventIds, environments, executedAt, statuses, levels, messages,
      workflowIds, workflowNames, runIds, steps, durations, traceIds, attributes, sizes, wantedIds].map(arrayLiteral)
  })
  return returned
}

/** Where the ids of committed logs are announced, for live tails on every instance (src/tail/). */
export const NEW_LOGS_CHANNEL = 'central_logger_new_logs'

/** Ids per notification: a payload must stay under PostgreSQL's 8,000 bytes (a client id, then 33 bytes an id). */
export const IDS_PER_NOTIFICATION = 200

// One array per column, unnested into rows. Only the rows the answers need
// come back: those with an event_id (to tell the ones the conflict clause
// skipped) and those answered with their log ($18).
//
// The rows inserted (not those an event_id replays) are announced on
// NEW_LOGS_CHANNEL as "<client id>:<id hex>,<id hex>…": NOTIFY is delivered
// at commit and never for a statement that fails, so a tail hears of exactly
// the logs committed. A SELECT in WITH runs only when referenced: the final
// select counts the notifications to make it run.
//
// The same rows are added to their hours' counts in log_hour_counts, which
// the stats read (see its migration): summed per hour and upserted in key
// order, so that two writes lock the counts in the same order.
const INSERT_GROUP = `
  with inserted as (
    insert into logs (client_id, key_id, id, event_id, environment, executed_at, status, level, message,
                      workflow_id, workflow_name, run_id, step, duration_ms, trace_id, attributes, size_bytes)
    select * from unnest(
      $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
      $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::text[],
      $11::text[], $12::text[], $13::text[], $14::float8[], $15::text[],
      $16::jsonb[], $17::int4[]
    )
    on conflict (client_id, event_id) where event_id is not null do nothing
    returning client_id, id, event_id, received_at, attributes, executed_at, status, level, environment
  ), counted as (
    insert into log_hour_counts as counts (client_id, hour, status, level, environment, logs)
    select client_id, date_bin('1 hour', executed_at, timestamptz '2000-01-01 00:00:00+00'), status, level, environment, count(*)
    from inserted
    group by 1, 2, 3, 4, 5
    order by 1, 2, 3, 4, 5
    on conflict (client_id, hour, status, level, environment) do update set logs = counts.logs + excluded.logs
  ), numbered as (
    select client_id, id, (row_number() over (partition by client_id order by id) - 1) / ${IDS_PER_NOTIFICATION} as part
    from inserted
  ), notified as (
    select pg_notify('${NEW_LOGS_CHANNEL}', client_id::text || ':' || string_agg(replace(id::text, '-', ''), ',' order by id))
    from numbered group by client_id, part
  )
  select id,
         case when id = any($18::uuid[]) then received_at end as received_at,
         case when id = any($18::uuid[]) then attributes end as attributes
  from inserted
  where (event_id is not null or id = any($18::uuid[])) and (select count(*) from notified) >= 0`

/** The log as stored: the entry as normalized, with what the database set (received_at) or rewrote (the attributes, as jsonb). */
function storedLog (row: Row, receivedAt: Date, attributes: Record<string, unknown> | null): PublicLog {
  const { entry } = row
  return {
    id: row.id,
    event_id: entry.event_id,
    environment: entry.environment,
    executed_at: entry.executed_at,
    status: entry.status,
    level: entry.level,
    message: entry.message,
    workflow_id: entry.workflow_id,
    workflow_name: entry.workflow_name,
    run_id: entry.run_id,
    step: entry.step,
    duration_ms: entry.duration_ms,
    trace_id: entry.trace_id,
    attributes,
    received_at: receivedAt
  }
}

/** Reads, for rows skipped by the conflict clause, the log each one's (client, event_id) stored before; returns those whose log is gone. */
async function findStoredBefore (pool: Queryable, rows: readonly Row[]): Promise<Row[]> {
  const found = await pool.query<PublicLog & { client_id: string }>({
    text: FIND_STORED_BEFORE,
    values: [rows.map((row) => row.client.id), rows.map((row) => row.entry.event_id)]
  })
  const byKey = new Map(found.rows.map(({ client_id: clientId, ...log }) => [clientId + log.event_id!, log]))
  const gone: Row[] = []
  for (const row of rows) {
    const log = byKey.get(row.client.id + row.entry.event_id!)
    if (log === undefined) gone.push(row)
    else row.storedBefore = log
  }
  return gone
}

const FIND_STORED_BEFORE = `
  select client_id, ${PUBLIC_COLUMNS.map((column) => `logs.${column}`).join(', ')}
  from logs
  join unnest($1::uuid[], $2::text[]) as wanted (client_id, event_id) using (client_id, event_id)`
