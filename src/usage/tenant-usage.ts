// The stored usage of one client, as routes read it: bound to the client it
// was made for, as logsOf is for logs and keysOf for keys.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { usageDays, type UsageDay, type UsageQuery } from './store.ts'

export interface ClientUsage {
  days: (query: UsageQuery) => Promise<UsageDay[]>
}

export function usageOf (db: Kysely<Database>, client: { id: string }): ClientUsage {
  return { days: async (query) => await usageDays(db, { clientId: client.id }, query) }
}
