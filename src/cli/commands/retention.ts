// keys retention <client_name> [<days>d | <weeks>w | default]: how long the
// client's logs are kept after their executed_at, audited; without a value it
// shows it. Expired logs go at the next purge (PURGE_INTERVAL_MS, npm run purge).
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { setClientLimits } from '../../clients/settings.ts'
import { findClientByName } from '../../clients/store.ts'
import { cliActor } from '../actor.ts'
import { noClientNamed } from '../clients.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'

const MAX_DAYS = 36_500

/** Days on the command line: `90d` or `12w`, or `default` (null) for RETENTION_DAYS. */
export function retentionOption (text: string): number | null {
  const word = text.trim()
  if (word === 'default') return null
  const match = /^(\d+)([dw])$/.exec(word)
  const days = match === null ? Number.NaN : Number(match[1]) * (match[2] === 'w' ? 7 : 1)
  if (!(days >= 1 && days <= MAX_DAYS)) {
    throw new UsageError(`The retention "${text}" is not a number of days or weeks from 1d to ${MAX_DAYS}d, like 90d or 12w, or default.`)
  }
  return days
}

export async function retention (db: Kysely<Database>, clientName: string, value: string | undefined, defaultDays: number): Promise<CommandResult> {
  const days = value === undefined ? undefined : retentionOption(value)
  const client = await findClientByName(db, clientName)
  if (client === undefined) throw noClientNamed(clientName)
  const changed = days !== undefined && days !== client.retention_days
  if (changed) await setClientLimits(db, client.id, { retentionDays: days }, cliActor())
  const own = days !== undefined ? days : client.retention_days
  const effective = own ?? defaultDays
  return {
    json: { client_id: client.id, client_name: client.name, retention_days: own, effective_retention_days: effective, changed },
    text: `${shown(client.name)} keeps its logs ${effective} days after their executed_at` +
      (own === null ? ' (the service\'s RETENTION_DAYS).' : '.') +
      (changed ? ' Older logs are deleted at the next purge (PURGE_INTERVAL_MS, or npm run purge).' : '')
  }
}
