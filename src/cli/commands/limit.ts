// keys limit <client_name> [N | default] [--requests N|default] [--entries N|default]:
// the client's own request rate limit per window and log entries per minute,
// in effect on every running instance at once. Without a value it shows them.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { setClientLimits, type ClientLimits } from '../../clients/settings.ts'
import { cliActor } from '../actor.ts'
import { noClientNamed } from '../clients.ts'
import { wholeNumberOption } from '../options.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'
import { findClientByName } from '../../keys/store.ts'

/** A limit on the command line: a whole number, or `default` for the service's. */
export function limitOption (option: string, text: string): number | null {
  return text.trim() === 'default' ? null : wholeNumberOption(option, text, 1, 1_000_000_000)
}

export interface LimitOptions {
  clientName: string
  /** Requests per window: the positional value or --requests. */
  requests?: string
  /** Log entries per minute. */
  entries?: string
  /** The service's defaults and window, to say what "default" means. */
  defaults: { rateLimit: number, window: string, ingestRateLimit: number }
}

export async function limit (db: Kysely<Database>, options: LimitOptions): Promise<CommandResult> {
  const changes: ClientLimits = {
    ...(options.requests === undefined ? {} : { rateLimit: limitOption('The request limit', options.requests) }),
    ...(options.entries === undefined ? {} : { ingestRateLimit: limitOption('--entries', options.entries) })
  }
  const client = await findClientByName(db, options.clientName)
  if (client === undefined) throw noClientNamed(options.clientName)
  const changed = Object.keys(changes).length > 0
  if (changed) await setClientLimits(db, client.id, changes, cliActor())

  const rateLimit = changes.rateLimit !== undefined ? changes.rateLimit : client.rate_limit
  const ingestRateLimit = changes.ingestRateLimit !== undefined ? changes.ingestRateLimit : client.ingest_rate_limit
  const { defaults } = options
  const requests = `${rateLimit ?? defaults.rateLimit} requests per ${defaults.window}` +
    (rateLimit === null ? ' (the service\'s RATE_LIMIT_MAX)' : '')
  const entries = `${ingestRateLimit ?? defaults.ingestRateLimit} log entries per minute` +
    (ingestRateLimit === null ? ' (the service\'s INGEST_RATE_LIMIT)' : '')
  return {
    json: {
      client_id: client.id,
      client_name: client.name,
      rate_limit: rateLimit,
      effective_rate_limit: rateLimit ?? defaults.rateLimit,
      window: defaults.window,
      ingest_rate_limit: ingestRateLimit,
      effective_ingest_rate_limit: ingestRateLimit ?? defaults.ingestRateLimit,
      changed
    },
    text: `${shown(client.name)} may make ${requests} and send ${entries}, across all its keys.` +
      (changed ? ' Every running instance applies it at once.' : '')
  }
}

/** The positional value and --requests say the same thing: only one of them. */
export function requestLimitArgument (positional: string | undefined, option: string | undefined): string | undefined {
  if (positional !== undefined && option !== undefined) throw new UsageError('Give the request limit once: as the argument or as --requests.')
  return positional ?? option
}
