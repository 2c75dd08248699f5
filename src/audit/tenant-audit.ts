// The audit trail of one client, as routes read it: bound to the client it
// was made for, as logsOf is for logs and keysOf for keys.
import type { Kysely } from 'kysely'
import type { AuditEventRow, Database } from '../db/schema.ts'
import { auditPageOf, type AuditPageQuery } from './page.ts'

export interface ClientAudit {
  /** The client's events, newest first, and whether older ones follow the page. */
  page: (query: AuditPageQuery) => Promise<{ rows: AuditEventRow[], more: boolean }>
}

export function auditOf (db: Kysely<Database>, client: { id: string }): ClientAudit {
  return { page: async (query) => await auditPageOf(db, client.id, query) }
}
