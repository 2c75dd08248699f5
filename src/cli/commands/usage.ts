// keys usage [--client NAME] [--days N | --from DAY --to DAY]: requests and
// logs per client and UTC day, as written by the running instances (each
// writes its counts every few seconds, so the latest moments may be missing),
// the bytes each client stores now, and for the provider the failed
// authentications no client is known for.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { utcDay, type Counts } from '../../usage/recorder.ts'
import { totalOf, usageDays } from '../../usage/store.ts'
import { dayBefore, FIRST_DAY, MAX_DAYS, usageWindow as windowOf } from '../../usage/window.ts'
import { unattributedFailures } from '../../audit/store.ts'
import { storedBytesByClient } from '../../logs/stored-bytes.ts'
import { clientIdNamed, clientNames } from '../clients.ts'
import { dayOption, wholeNumberOption } from '../options.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'
import { EVERY_CLIENT } from '../../provider/every-client.ts'

export interface UsageOptions {
  clientName?: string
  days?: string
  /** First and last UTC day, YYYY-MM-DD. */
  from?: string
  to?: string
}

/** The days asked for: the last --days, or --from to --to (today when absent, 30 days back when --from is). */
export function usageWindow (options: UsageOptions, now = new Date()): { from: string, to: string } {
  if (options.days !== undefined) {
    if (options.from !== undefined || options.to !== undefined) throw new UsageError('Give either --days or --from/--to, not both.')
    const days = wholeNumberOption('--days', options.days, 1, MAX_DAYS)
    return { from: dayBefore(utcDay(now), days - 1), to: utcDay(now) }
  }
  const { from, to, problem } = windowOf(
    options.from === undefined ? undefined : dayOption('--from', options.from),
    options.to === undefined ? undefined : dayOption('--to', options.to),
    now)
  if (problem === 'order') throw new UsageError(`--from ${from} is after --to ${to}.`)
  if (problem === 'span') throw new UsageError(`--from ${from} --to ${to} spans more than ${MAX_DAYS} days.`)
  if (problem === 'first_day') throw new UsageError(`--from ${from} is before ${FIRST_DAY}, the first day there is.`)
  return { from, to }
}

export async function usage (db: Kysely<Database>, options: UsageOptions): Promise<CommandResult> {
  const { from, to } = usageWindow(options)
  const clientId = options.clientName === undefined ? undefined : await clientIdNamed(db, options.clientName)
  const rows = await usageDays(db, clientId === undefined ? EVERY_CLIENT : { clientId }, { from, to })
  const names = await clientNames(db)
  const stored = await storedBytesByClient(db)

  const clients = [...new Set(rows.map((row) => row.client_id))].map((id) => {
    const clientDays = rows.filter((row) => row.client_id === id).map(({ client_id, ...day }) => day)
    return { client_id: id, client_name: names.get(id) ?? null, days: clientDays, total: totalOf(clientDays), stored_bytes: stored.get(id) ?? 0 }
  }).sort((a, b) => (a.client_name ?? '').localeCompare(b.client_name ?? ''))

  // The provider's view also shows the failures no client can be charged with.
  const unattributed = clientId === undefined ? await unattributedFailures(db, from, to) : []

  const line = (label: string, counts: Counts): string =>
    `  ${label}  ${counts.requests} requests (${counts.rejected_requests} rejected, ${counts.rate_limited} rate-limited), ` +
    `${counts.logs_accepted} logs accepted, ${counts.logs_duplicates} duplicates, ${counts.logs_rejected} rejected, ` +
    `${counts.auth_failures} refused authentications`
  const lines = clients.flatMap((client) => [
    `${shown(client.client_name ?? client.client_id)}  (${client.client_id}, stores ${client.stored_bytes} bytes of logs now)`,
    ...client.days.map((day) => line(day.day, day)),
    line('total     ', client.total)
  ])
  if (unattributed.length > 0) {
    lines.push('failed authentications with no known key (made-up or malformed keys, throttled addresses)',
      ...unattributed.map((day) => `  ${day.day}  ${day.failures} failures (${day.throttled} throttled)`))
  }
  const text = lines.length === 0 ? `No usage recorded from ${from} to ${to}.` : lines.join('\n')
  return { json: { from, to, clients, unattributed_auth_failures: unattributed }, text }
}
