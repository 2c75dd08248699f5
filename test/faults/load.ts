// A load of posts with event_ids, sent the way a careful client sends them:
// each request (a single entry, or a batch of several) is retried with the
// same event_ids until it is answered 201, whatever happens meanwhile. Then
// the check every fault must pass: each event is stored exactly once, under
// the id its last 201 named.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { entry } from '../helper.ts'

export interface LoadOptions {
  /** Where the next attempt goes: the same address, another after a restart, or the next instance of a fleet. */
  target: () => string
  apiKey: string
  /** Events to store; they go out in this order, one request per single event or batch. */
  events: number
  /** Every this many requests is a batch of `batchSize` events; the others carry one. */
  batchEvery?: number
  batchSize?: number
  concurrency: number
  /** Pause before a retry, so that a client does not spin on a service that is down. */
  retryDelayMs?: number
  /** Each attempt gives up after this long and is retried, as a client's timeout does. */
  attemptTimeoutMs?: number
  /** The whole load gives up after this long (a fault that never heals fails the test instead of hanging it). */
  boundMs?: number
  prefix?: string
  /** Bytes of each entry's message beyond its event's name (random, incompressible). */
  messageBytes?: number
}

export interface LoadReport {
  eventIds: string[]
  /** The id each event's final 201 named. */
  idOf: Map<string, string>
  attempts: number
  /** Answers by status, and the error codes of the refusals. */
  statuses: Record<number, number>
  codes: Record<string, number>
  /** Attempts that got no answer at all (connection refused or cut, or timed out). */
  unanswered: number
  /** 503s without a Retry-After. */
  withoutRetryAfter: number
  /** Events a 201 named as replayed: an earlier attempt had stored them. */
  replayed: number
  /** Events stored so far, as the load goes: a test waits on it to strike mid-load. */
  stored: () => number
  done: Promise<void>
}

interface Unit { eventIds: string[], body: unknown }

export function startLoad (options: LoadOptions): LoadReport {
  const prefix = options.prefix ?? 'ev'
  const batchEvery = options.batchEvery ?? 4
  const batchSize = options.batchSize ?? 5
  const units: Unit[] = []
  const eventIds: string[] = []
  for (let i = 0; eventIds.length < options.events; i++) {
    const size = i % batchEvery === batchEvery - 1 ? Math.min(batchSize, options.events - eventIds.length) : 1
    const ids = Array.from({ length: size }, (_, j) => `${prefix}-${eventIds.length + j}`)
    eventIds.push(...ids)
    // Random, so that PostgreSQL cannot compress it away.
    const padding = (): string => randomBytes(options.messageBytes ?? 0).toString('base64').slice(0, options.messageBytes ?? 0)
    const entries = ids.map((id) => entry({ event_id: id, message: `event ${id} ${padding()}`, workflow_id: 'fault-load' }))
    units.push({ eventIds: ids, body: size === 1 && i % batchEvery !== batchEvery - 1 ? entries[0] : entries })
  }
  let stored = 0
  const report: LoadReport = {
    eventIds,
    idOf: new Map(),
    attempts: 0,
    statuses: {},
    codes: {},
    unanswered: 0,
    withoutRetryAfter: 0,
    replayed: 0,
    stored: () => stored,
    done: Promise.resolve()
  }
  const deadline = Date.now() + (options.boundMs ?? 120_000)
  let next = 0
  const sendUnit = async (unit: Unit): Promise<void> => {
    for (;;) {
      if (Date.now() > deadline) throw new Error(`events ${unit.eventIds.join(', ')} not stored within the load's bound`)
      report.attempts++
      let res: Response
      let text: string
      try {
        res = await fetch(`${options.target()}/api/v1/logs`, {
          method: 'POST',
          headers: { 'x-api-key': options.apiKey, 'content-type': 'application/json' },
          body: JSON.stringify(unit.body),
          signal: AbortSignal.timeout(options.attemptTimeoutMs ?? 15_000)
        })
        text = await res.text()
      } catch {
        report.unanswered++
        await sleep(options.retryDelayMs ?? 50)
        continue
      }
      report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1
      if (res.status === 201) {
        const body = JSON.parse(text) as { id?: string, ids?: string[], duplicates?: number }
        if (Array.isArray(unit.body)) {
          unit.eventIds.forEach((eventId, i) => { report.idOf.set(eventId, body.ids![i]!) })
          report.replayed += body.duplicates ?? 0
        } else {
          report.idOf.set(unit.eventIds[0]!, body.id!)
          if (res.headers.get('idempotent-replayed') === 'true') report.replayed++
        }
        stored += unit.eventIds.length
        return
      }
      try {
        const code = (JSON.parse(text) as { code?: string }).code ?? '?'
        report.codes[code] = (report.codes[code] ?? 0) + 1
      } catch {
        report.codes['(not JSON)'] = (report.codes['(not JSON)'] ?? 0) + 1
      }
      if (res.status === 503 && res.headers.get('retry-after') === null) report.withoutRetryAfter++
      await sleep(options.retryDelayMs ?? 50)
    }
  }
  report.done = Promise.all(Array.from({ length: options.concurrency }, async () => {
    while (next < units.length) await sendUnit(units[next++]!)
  })).then(() => {})
  // Awaited by the test, which may have failed and left before the load's bound passed.
  report.done.catch(() => {})
  return report
}

/**
 * Every event is stored once, under the id of its last 201, and nothing else
 * of the load is stored. Read straight from the database.
 */
export async function expectExactlyOnce (t: Test, databaseUrl: string, clientId: string, report: LoadReport): Promise<void> {
  const db = connect(databaseUrl, { poolMax: 1, onPoolError: () => {} })
  try {
    const { rows } = await sql<{ event_id: string, n: number, id: string }>`
      select event_id, count(*)::int as n, min(id::text) as id from logs
      where client_id = ${clientId} and workflow_id = 'fault-load' group by event_id`.execute(db)
    const expected = new Set(report.eventIds)
    const twice = rows.filter((row) => row.n !== 1).map((row) => `${row.event_id} ×${row.n}`)
    const strangers = rows.filter((row) => !expected.has(row.event_id)).map((row) => row.event_id)
    const storedIds = new Set(rows.map((row) => row.event_id))
    const missing = report.eventIds.filter((eventId) => !storedIds.has(eventId))
    const otherId = rows.filter((row) => report.idOf.get(row.event_id) !== row.id).map((row) => row.event_id)
    t.equal(rows.length, report.eventIds.length, `${rows.length} of ${report.eventIds.length} events stored`)
    t.same(missing, [], 'no event is missing')
    t.same(twice, [], 'no event is stored twice')
    t.same(strangers, [], 'nothing else is stored')
    t.same(otherId, [], 'each event is stored under the id its 201 named')
  } finally {
    await db.destroy()
  }
}

/** One line for the test's output: what the load met on its way. */
export function describeLoad (report: LoadReport): string {
  return `${report.eventIds.length} events in ${report.attempts} attempts; answers ${JSON.stringify(report.statuses)}, ` +
    `codes ${JSON.stringify(report.codes)}, ${report.unanswered} unanswered, ${report.replayed} replayed`
}
