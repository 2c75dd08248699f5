// The rows of an export, page after page. Each page is an ordinary keyset
// statement (logsOf(...).listText, after the previous page's last row), not one
// portal of a server-side cursor fetched in parts:
// - PostgreSQL (15, measured) runs statement_timeout from a portal's first
//   message until the Sync that ends it: a pg-cursor portal read in 1,000-row
//   Executes, 400 ms apart, with statement_timeout 1 s, was cancelled on its
//   fourth fetch. A slow reader would make every long export a query_timeout;
//   here QUERY_TIMEOUT_MS bounds each page, however long the export.
// - No transaction or snapshot is held while the client reads, so a slow
//   export holds back neither vacuum nor retention, and holds a read
//   connection only while a page is read (the query slot it keeps throughout).
// - A page is read from the (client_id, executed_at, id) index or a filter's
//   index, and bounded in rows and bytes as a listing page is: the memory an
//   export takes is one page, whatever its length.
// What that costs: the export is not one snapshot. A log stored during the
// export after its position is exported, one before it is not.
import type { Kysely } from 'kysely'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import type { Database } from '../db/schema.ts'
import type { CursorPosition } from './cursor.ts'
import { logsOf, type LogFilters, type PublicLogText } from './tenant-logs.ts'

/** Rows per page: the listing's largest page. */
export const EXPORT_PAGE_ROWS = 1000

export interface ExportOptions {
  order: 'asc' | 'desc'
  /** A page ends before the row that would take it past this many bytes (one row at least), as a listing page does. */
  maxBytes: number
}

/** The client's logs that pass the filters, in (executed_at, id) order, a page at a time; never an empty page. */
export async function * exportPages (db: Kysely<Database>, client: AuthenticatedClient, filters: LogFilters,
  options: ExportOptions): AsyncGenerator<PublicLogText[], void, undefined> {
  const logs = logsOf(db, client)
  let after: CursorPosition | undefined
  for (;;) {
    const { rows, more, last } = await logs.listText({ ...filters, order: options.order, limit: EXPORT_PAGE_ROWS, maxBytes: options.maxBytes, after })
    if (last === undefined) return
    yield rows
    if (!more) return
    after = last
  }
}
