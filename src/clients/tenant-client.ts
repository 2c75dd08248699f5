// The caller's own client, as routes read and change it: bound to the client
// it was made for, as logsOf is for logs and keysOf for keys.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { Actor } from '../audit/store.ts'
import { setClientLimits } from './settings.ts'

export interface ClientSettings {
  id: string
  name: string
  defaults: { environment: string | null, status: string | null }
}

export interface OwnClient {
  get: () => Promise<ClientSettings>
  /** Sets the defaults given (null clears one, absent leaves it), audited as client.updated when anything changes. */
  setDefaults: (defaults: { environment?: string | null, status?: string | null }, actor: Actor) => Promise<ClientSettings>
}

export function ownClientOf (db: Kysely<Database>, client: { id: string }): OwnClient {
  const get = async (): Promise<ClientSettings> => {
    const row = await db.selectFrom('clients').select(['id', 'name', 'default_environment', 'default_status'])
      .where('id', '=', client.id).executeTakeFirstOrThrow()
    return { id: row.id, name: row.name, defaults: { environment: row.default_environment, status: row.default_status } }
  }
  return {
    get,
    setDefaults: async (defaults, actor) => {
      await setClientLimits(db, client.id, { defaultEnvironment: defaults.environment, defaultStatus: defaults.status }, actor)
      return await get()
    }
  }
}
