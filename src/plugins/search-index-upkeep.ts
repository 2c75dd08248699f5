// Merges the text-search index's pending list every SEARCH_INDEX_MERGE_MS
// while this instance writes logs (search/pending-entries.ts says why), one
// merge at a time; a stop waits for the merge under way. A merge that fails
// (the service's database role does not own the index, say) is tried again
// less and less often, up to once a minute.
import fp from 'fastify-plugin'
import { mergePendingEntries } from '../search/pending-entries.ts'

export interface SearchIndexUpkeep {
  /** Of the rows this instance has written, how many were written before the last merge (by this instance or another). */
  rowsMerged: number
}

declare module 'fastify' {
  interface FastifyInstance {
    searchIndexUpkeep: SearchIndexUpkeep
  }
}

const MAX_BACKOFF_MS = 60_000

export default fp(async function searchIndexUpkeep (fastify) {
  const upkeep: SearchIndexUpkeep = { rowsMerged: 0 }
  fastify.decorate('searchIndexUpkeep', upkeep)
  const everyMs = fastify.config.SEARCH_INDEX_MERGE_MS
  if (everyMs === 0) return
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  let failures = 0

  const merge = async (): Promise<void> => {
    // Rows whose INSERT has ended: their entries are in the list by now.
    const written = fastify.logWriter.stats.rowsWritten
    if (written === upkeep.rowsMerged) return
    try {
      // Skipped when another instance is merging: the list is being merged all the same.
      await mergePendingEntries(fastify.db)
      upkeep.rowsMerged = written
      failures = 0
    } catch (error) {
      // No write fails for it: PostgreSQL merges the list itself when it is full, as it would without this.
      if (failures++ === 0) fastify.log.warn({ err: error }, 'the text-search index\'s new entries could not be merged; retrying')
    }
  }
  const schedule = (): void => {
    timer = setTimeout(() => {
      running = merge().finally(() => { if (!stopped) schedule() })
    }, Math.min(MAX_BACKOFF_MS, everyMs * 2 ** failures))
    timer.unref()
  }
  fastify.addHook('onReady', async () => { schedule() })
  // Added after the database plugin's, so it runs before the pool closes.
  fastify.addHook('onClose', async () => {
    stopped = true
    clearTimeout(timer)
    await running
  })
}, { name: 'search-index-upkeep', dependencies: ['env', 'database', 'log-writer'] })
