// The usage recorder as a decorator (`fastify.usage`): requests, logs and
// failures counted per client and day in memory, flushed to the database
// every USAGE_FLUSH_SECONDS and when the app closes.
import fp from 'fastify-plugin'
import { UsageRecorder } from './recorder.ts'

declare module 'fastify' {
  interface FastifyInstance {
    usage: UsageRecorder
  }
}

export default fp(async function usage (fastify) {
  const recorder = new UsageRecorder(fastify.db, fastify.log, fastify.config.USAGE_FLUSH_SECONDS * 1000)
  fastify.decorate('usage', recorder)
  // Registered after the database plugin, so this runs before the pool closes.
  fastify.addHook('onClose', async () => { await recorder.close() })
}, { name: 'usage', dependencies: ['database'] })
