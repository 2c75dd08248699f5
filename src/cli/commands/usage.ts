// keys usage [--client NAME] [--days N]: requests and logs per client and UTC
// day, as written by the running instances (they write every few seconds).
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { findClientByName } from '../../keys/store.ts'
import { utcDay, type Counts } from '../../usage/recorder.ts'
import { totalOf, usageDays } from '../../usage/store.ts'
import { UsageError, type CommandResult } from '../output.ts'

const DAY_MS = 86_400_000

export async function usage (db: Kysely<Database>, options: { clientName?: string, days?: string }): Promise<CommandResult> {
  const days = options.days === undefined ? 30 : Number(options.days)
  if (!Number.isInteger(days) || days < 1 || days > 366) throw new UsageError(`--days "${options.days ?? ''}" must be a whole number from 1 to 366.`)
  let clientId: string | undefined
  if (options.clientName !== undefined) {
    const client = await findClientByName(db, options.clientName)
    if (client === undefined) throw new UsageError(`No client named "${options.clientName}".`)
    clientId = client.id
  }
  const now = new Date()
  const to = utcDay(now)
  const from = utcDay(new Date(now.getTime() - (days - 1) * DAY_MS))
  const rows = await usageDays(db, { clientId, from, to })
  const names = new Map((await db.selectFrom('clients').select(['id', 'name']).execute()).map((client) => [client.id, client.name]))

  const clients = [...new Set(rows.map((row) => row.client_id))].map((id) => {
    const clientDays = rows.filter((row) => row.client_id === id).map(({ client_id, ...day }) => day)
    return { client_id: id, client_name: names.get(id) ?? null, days: clientDays, total: totalOf(clientDays) }
  }).sort((a, b) => (a.client_name ?? '').localeCompare(b.client_name ?? ''))

  const line = (label: string, counts: Counts): string =>
    `  ${label}  ${counts.requests} requests (${counts.rejected_requests} rejected, ${counts.rate_limited} rate-limited), ` +
    `${counts.logs_accepted} logs accepted, ${counts.logs_duplicates} duplicates, ${counts.logs_rejected} rejected`
  const text = clients.length === 0
    ? `No usage recorded from ${from} to ${to}.`
    : clients.flatMap((client) => [
      `${client.client_name ?? client.client_id}  (${client.client_id})`,
      ...client.days.map((day) => line(day.day, day)),
      line('total     ', client.total)
    ]).join('\n')
  return { json: { from, to, clients }, text }
}
