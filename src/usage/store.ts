// Reading the daily usage counters, per client and UTC day.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { scopedClientId, type ClientScope } from '../db/scope.ts'
import { COUNTERS, zeroCounts, type Counts } from './recorder.ts'

export interface UsageDay extends Counts {
  client_id: string
  day: string
}

export interface UsageQuery {
  /** First and last day included, YYYY-MM-DD. */
  from: string
  to: string
}

/** The scope's days with any usage, oldest first. */
export async function usageDays (db: Kysely<Database>, scope: ClientScope, query: UsageQuery): Promise<UsageDay[]> {
  let select = db.selectFrom('usage_daily').select(['client_id', 'day', ...COUNTERS])
    .where('day', '>=', query.from).where('day', '<=', query.to)
    .orderBy('day').orderBy('client_id')
  const clientId = scopedClientId(scope)
  if (clientId !== undefined) select = select.where('client_id', '=', clientId)
  return await select.execute()
}

/** Adds counts not yet written (this instance's pending ones) into stored days. */
export function mergeUsage (stored: UsageDay[], clientId: string, pending: ReadonlyMap<string, Counts>, from: string, to: string): UsageDay[] {
  const byDay = new Map(stored.filter((day) => day.client_id === clientId).map((day) => [day.day, { ...day }]))
  for (const [day, counts] of pending) {
    if (day < from || day > to) continue
    const into = byDay.get(day) ?? { client_id: clientId, day, ...zeroCounts() }
    for (const counter of COUNTERS) into[counter] += counts[counter]
    byDay.set(day, into)
  }
  return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day))
}

export function totalOf (days: Counts[]): Counts {
  const total = zeroCounts()
  for (const day of days) for (const counter of COUNTERS) total[counter] += day[counter]
  return total
}
