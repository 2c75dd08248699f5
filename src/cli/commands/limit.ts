// keys limit <client_name> <N | default>: the client's own request rate
// limit per window, in effect on every running instance at once.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { setClientRateLimit } from '../../keys/lifecycle.ts'
import { cliActor } from '../actor.ts'
import { clientIdNamed } from '../clients.ts'
import { wholeNumberOption } from '../options.ts'
import type { CommandResult } from '../output.ts'

/** A rate limit on the command line: a number of requests per window, or `default`. */
export function rateLimitOption (option: string, text: string): number | null {
  return text.trim() === 'default' ? null : wholeNumberOption(option, text, 1, 1_000_000_000)
}

export async function limit (db: Kysely<Database>, clientName: string, value: string, window: string, defaultMax: number): Promise<CommandResult> {
  const rateLimit = rateLimitOption('The limit', value)
  const clientId = await clientIdNamed(db, clientName)
  await setClientRateLimit(db, clientId, rateLimit, cliActor())
  const effective = rateLimit ?? defaultMax
  return {
    json: { client_id: clientId, client_name: clientName, rate_limit: rateLimit, effective_limit: effective, window },
    text: `${clientName} may make ${effective} requests per ${window}` +
      (rateLimit === null ? ' (the service\'s RATE_LIMIT_MAX).' : '.') + ' Every running instance applies it at once.'
  }
}
