// keys defaults <client_name> [--environment NAME|default] [--status STATUS|default]:
// what a log that leaves out environment or status gets, on every ingest
// route, audited; without an option it shows them. The same as the tenant's
// PATCH /api/v1/client.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { setClientLimits } from '../../clients/settings.ts'
import { findClientByName } from '../../clients/store.ts'
import { cliActor } from '../actor.ts'
import { noClientNamed } from '../clients.ts'
import { ingestDefaultOption } from '../options.ts'
import { shown, type CommandResult } from '../output.ts'

export interface DefaultsOptions {
  clientName: string
  /** A name, or `default` for none. */
  environment?: string
  /** A status, or `default` for none. */
  status?: string
}

export async function defaults (db: Kysely<Database>, options: DefaultsOptions): Promise<CommandResult> {
  const environment = options.environment === undefined ? undefined : ingestDefaultOption('--environment', options.environment)
  const status = options.status === undefined ? undefined : ingestDefaultOption('--status', options.status)
  const client = await findClientByName(db, options.clientName)
  if (client === undefined) throw noClientNamed(options.clientName)
  const ownEnvironment = environment === undefined ? client.default_environment : environment
  const ownStatus = status === undefined ? client.default_status : status
  const changed = ownEnvironment !== client.default_environment || ownStatus !== client.default_status
  if (changed) await setClientLimits(db, client.id, { defaultEnvironment: environment, defaultStatus: status }, cliActor())
  const said = (value: string | null, field: string): string => value === null ? `none (${field} is required of a native entry)` : shown(value)
  return {
    json: { client_id: client.id, client_name: client.name, default_environment: ownEnvironment, default_status: ownStatus, changed },
    text: [
      `${shown(client.name)}: a log that leaves them out gets`,
      `  environment: ${said(ownEnvironment, 'environment')}`,
      `  status:      ${said(ownStatus, 'status')}`,
      '(POST /v1/logs falls back to "default" and "UNKNOWN" where there is none.)' +
        (changed ? ' Every running instance applies the change at once.' : '')
    ].join('\n')
  }
}
