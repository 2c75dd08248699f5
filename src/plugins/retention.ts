// Expired logs deleted in the background every PURGE_INTERVAL_MS, the first
// time one interval after the start (a restart loop must not purge on every
// start). Instances take turns through an advisory lock (retention/purge.ts).
// A stop interrupts a purge between two batches and waits for the batch.
import fp from 'fastify-plugin'
import { purgeExpired } from '../retention/purge.ts'

export default fp(async function retention (fastify) {
  const { PURGE_INTERVAL_MS, PURGE_BATCH_ROWS, RETENTION_DAYS } = fastify.config
  if (PURGE_INTERVAL_MS === 0) return
  const stopping = new AbortController()
  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  const purge = async (): Promise<void> => {
    try {
      const result = await purgeExpired(fastify.db, { defaultDays: RETENTION_DAYS, batchRows: PURGE_BATCH_ROWS, signal: stopping.signal })
      if (result === undefined) fastify.log.debug('expired logs not purged here: another process is purging')
      else if (result.deleted > 0) {
        fastify.log.info({ deleted: result.deleted, clients: result.clients.map(({ clientId, deleted }) => ({ clientId, deleted })) }, 'expired logs deleted')
      }
    } catch (error) {
      fastify.log.warn({ err: error }, 'expired logs could not be deleted; the next interval tries again')
    }
  }
  const schedule = (): void => {
    timer = setTimeout(() => {
      running = purge().finally(() => { if (!stopping.signal.aborted) schedule() })
    }, PURGE_INTERVAL_MS)
    timer.unref()
  }
  fastify.addHook('onReady', async () => { schedule() })
  // Added after the database plugin's, so it runs before the pool closes.
  fastify.addHook('onClose', async () => {
    stopping.abort()
    clearTimeout(timer)
    await running
  })
}, { name: 'retention', dependencies: ['env', 'database'] })
