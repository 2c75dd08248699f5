// Back-pressure as `fastify.pressure`: past a limit, requests are answered
// 503 overloaded with Retry-After at once, before their key is looked up or
// their body read, rather than queued without bound behind the work that
// saturates the instance; /ready answers 503 too, so that a load balancer
// moves traffic to another instance until this one recovers.
//
// @fastify/under-pressure samples the event loop's delay and the heap every
// PRESSURE_SAMPLE_INTERVAL_MS and refuses every request while either is past
// its limit. The write queue (the log writer's group-commit queue) is read
// at each request, and refuses only what would add to it, the ingest routes:
// queries, key management and live tails do not wait on it.
//
// /health, /ready and /metrics are always served (config.servedUnderPressure):
// liveness must not fail for load (an orchestrator would restart a busy
// instance), /ready says why it is not ready, and metrics show what saturates.
import { getHeapStatistics } from 'node:v8'
import underPressure from '@fastify/under-pressure'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Errors } from '../errors.ts'
import type { PressureReason } from '../metrics/metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    pressure: Pressure
  }
  interface FastifyContextConfig {
    /** Answered whatever the load: the routes that tell operators and load balancers about it. */
    servedUnderPressure?: boolean
  }
}

export interface Pressure {
  /** The limits passed now, if any. */
  passed: () => ReadonlySet<PressureReason>
}

// The two kinds of under-pressure's checks that are configured here (RSS, event-loop utilization and health checks are not).
const SAMPLED_REASONS: Record<string, PressureReason> = { eventLoopDelay: 'event_loop', heapUsedBytes: 'heap' }

const NONE: ReadonlySet<PressureReason> = new Set()

/** Whether the request adds log entries to the write queue. */
function writesLogs (request: FastifyRequest): boolean {
  return request.routeOptions.config.scope === 'logs:write'
}

export default fp(async function pressure (fastify) {
  const config = fastify.config
  const retryAfter = config.RETRY_AFTER_SECONDS
  const maxEventLoopDelay = config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS
  const maxHeapUsedBytes = Math.floor(config.PRESSURE_MAX_HEAP_FRACTION * getHeapStatistics().heap_size_limit)
  const maxQueueRows = config.PRESSURE_MAX_WRITE_QUEUE_ROWS
  const writer = fastify.logWriter
  const metrics = fastify.metrics

  await fastify.register(underPressure, {
    maxEventLoopDelay,
    maxHeapUsedBytes,
    sampleInterval: config.PRESSURE_SAMPLE_INTERVAL_MS,
    pressureHandler: async (request, _reply, type) => {
      if (request.routeOptions.config.servedUnderPressure === true) return
      const reason = SAMPLED_REASONS[type] ?? 'event_loop'
      metrics.overloaded(reason)
      throw Errors.overloaded(reason, retryAfter)
    }
  })

  const queueFull = (): boolean => maxQueueRows > 0 && writer.queuedRows > maxQueueRows

  // After under-pressure's own hook: an instance short of CPU or memory refuses everything first.
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (queueFull() && writesLogs(request)) {
      metrics.overloaded('write_queue')
      done(Errors.overloaded('write_queue', retryAfter))
      return
    }
    done()
  })

  fastify.decorate('pressure', {
    passed: () => {
      const usage = fastify.memoryUsage()
      const eventLoop = maxEventLoopDelay > 0 && usage.eventLoopDelay > maxEventLoopDelay
      const heap = maxHeapUsedBytes > 0 && usage.heapUsed > maxHeapUsedBytes
      const queue = queueFull()
      if (!eventLoop && !heap && !queue) return NONE
      const passed = new Set<PressureReason>()
      if (eventLoop) passed.add('event_loop')
      if (heap) passed.add('heap')
      if (queue) passed.add('write_queue')
      return passed
    }
  } satisfies Pressure)
}, { name: 'pressure', dependencies: ['env', 'log-writer', 'metrics'] })
