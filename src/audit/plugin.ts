// The audit recorder as a decorator (`fastify.audit`): authentication
// failures, gathered in memory and written in batches (recorder.ts) every
// USAGE_FLUSH_SECONDS and when the app closes.
import fp from 'fastify-plugin'
import { AuditRecorder } from './recorder.ts'

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditRecorder
  }
}

export default fp(async function audit (fastify) {
  const recorder = new AuditRecorder(fastify.db, fastify.log, fastify.config.USAGE_FLUSH_SECONDS * 1000)
  fastify.decorate('audit', recorder)
  // Registered after the database plugin, so this runs before the pool closes.
  fastify.addHook('onClose', async () => { await recorder.close() })
}, { name: 'audit', dependencies: ['database'] })
