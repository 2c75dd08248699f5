// Runs the query routes' database work fairly: on the read pool, at most
// QUERY_CONCURRENCY_PER_CLIENT at once per client, each statement within
// QUERY_TIMEOUT_MS, and cancelled when the client goes away. Its failures
// are answers that say what happened and what to do.
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { Errors } from '../errors.ts'
import { ReadPoolBusyError, WorkAbortedError, type PoolUse, type ReadPool } from '../db/read-pool.ts'
import type { Database } from '../db/schema.ts'
import { ClientSlots } from './client-slots.ts'
import { clientOf } from '../auth/client.ts'

const NEVER_ABORTED = new AbortController().signal

// SQLSTATE query_canceled: the statement timeout, or a cancel request.
const QUERY_CANCELED = '57014'

/** What every query route's OpenAPI description says of the limits it runs under. */
export function queryLimitsDescription (config: Config): string {
  return `A query route: at most ${config.QUERY_CONCURRENCY_PER_CLIENT} queries of one client run at once (one more is ` +
    `429 too_many_queries, Retry-After 1), each statement at most ${config.QUERY_TIMEOUT_MS} ms (then 503 query_timeout: ` +
    'narrow the query); 503 queries_busy when every query connection stays taken.'
}

export interface QueryRunnerOptions {
  perClient: number
  timeoutMs: number
  retryAfterSeconds: number
  /** Told of each statement the timeout stopped. */
  timedOut?: () => void
}

function sqlState (error: unknown): unknown {
  return error instanceof Error ? (error as { code?: unknown }).code : undefined
}

/**
 * A signal that aborts when the request's connection closes while the work
 * runs: its client went away. Not Fastify's request.signal, which also aborts
 * once the request's body has been read (Node.js then emits 'close' on the
 * request), so that any request whose body was consumed would look gone.
 */
function whenClientGoes (request: FastifyRequest): { signal: AbortSignal, stop: () => void } {
  const controller = new AbortController()
  const socket = request.raw.socket as Socket | null | undefined
  if (socket == null) return { signal: controller.signal, stop: () => {} }
  const abort = (): void => { controller.abort() }
  if (socket.destroyed) abort()
  else socket.once('close', abort)
  return { signal: controller.signal, stop: () => { socket.removeListener('close', abort) } }
}

export class QueryRunner {
  readonly #pool: ReadPool
  readonly #slots: ClientSlots
  readonly #options: QueryRunnerOptions

  constructor (pool: ReadPool, options: QueryRunnerOptions) {
    this.#pool = pool
    this.#slots = new ClientSlots(options.perClient)
    this.#options = options
  }

  /** Runs the work of an authenticated request on the read pool; the only way to it. */
  async run<T> (request: FastifyRequest, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const gone = whenClientGoes(request)
    try {
      if (gone.signal.aborted) throw Errors.clientClosedRequest()
      // Refused at once rather than queued: a queued query would still hold
      // its connection to the service, and the client learns to pace itself.
      const release = this.#slots.take(clientOf(request).id)
      if (release === undefined) throw Errors.tooManyQueries(this.#slots.limit)
      try {
        return await this.#pool.run(gone.signal, work)
      } catch (error) {
        throw this.#answer(error, gone.signal)
      } finally {
        release()
      }
    } finally {
      gone.stop()
    }
  }

  /**
   * Runs work of the service itself, done for no one request (a live tail's
   * read of new logs, shared by all the tails of a client), on the read pool:
   * under the statement timeout, with no client's slot to take and no client to go away.
   */
  async background<T> (work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.#pool.run(NEVER_ABORTED, work)
    } catch (error) {
      throw this.#answer(error, NEVER_ABORTED)
    }
  }

  /** Queries the client has running on this instance. */
  running (clientId: string): number {
    return this.#slots.running(clientId)
  }

  poolUse (): PoolUse {
    return this.#pool.use()
  }

  #answer (error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted && (error instanceof WorkAbortedError || sqlState(error) === QUERY_CANCELED)) return Errors.clientClosedRequest()
    if (sqlState(error) === QUERY_CANCELED) {
      this.#options.timedOut?.()
      return Errors.queryTimeout(this.#options.timeoutMs, this.#options.retryAfterSeconds)
    }
    if (error instanceof ReadPoolBusyError) return Errors.queriesBusy(this.#options.retryAfterSeconds)
    return error
  }
}
