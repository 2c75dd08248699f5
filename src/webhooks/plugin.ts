// The webhook worker as a decorator (`fastify.webhooks`), started once the app
// is ready and stopped before the pool closes.
import fp from 'fastify-plugin'
import { providerWebhookUrls } from '../config.ts'
import { WebhookWorker } from './worker.ts'

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: WebhookWorker
  }
}

export interface WebhooksOptions {
  /** The time expiry and failure spikes are judged by (default Date.now). */
  clock?: () => number
}

export default fp<WebhooksOptions>(async function webhooks (fastify, options) {
  const config = fastify.config
  const worker = new WebhookWorker(fastify.db, fastify.log.child({ module: 'webhooks' }), {
    providerUrls: providerWebhookUrls(config.WEBHOOK_URLS),
    providerSecret: config.WEBHOOK_SECRET,
    policy: { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK },
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
    pollMs: config.WEBHOOK_POLL_MS,
    scanMs: config.WEBHOOK_SCAN_MS,
    spike: { threshold: config.WEBHOOK_AUTH_FAILURE_SPIKE, windowSeconds: config.WEBHOOK_AUTH_FAILURE_WINDOW_SECONDS },
    clock: options.clock ?? Date.now
  })
  fastify.decorate('webhooks', worker)
  fastify.addHook('onReady', async () => { worker.start() })
  // Registered after the database plugin, so this runs before the pool closes.
  fastify.addHook('onClose', async () => { await worker.close() })
}, { name: 'webhooks', dependencies: ['env', 'database'] })
