// Runs the query routes' database work fairly: on the read pools, at most
// QUERY_CONCURRENCY_PER_CLIENT at once per client, each statement within
// QUERY_TIMEOUT_MS, and cancelled when the client goes away. Its failures
// are answers that say what happened and what to do. With a replica
// (DATABASE_READ_URL), it also chooses where each read runs: on the replica
// when a lag of a moment does no harm, or when the replica provably holds what
// an earlier read saw (replica-position.ts); on the primary otherwise.
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { Errors } from '../errors.ts'
import { ReadPoolBusyError, WorkAbortedError, type PoolUse, type ReadPool } from '../db/read-pool.ts'
import type { Database } from '../db/schema.ts'
import { hasReplayed, primaryPosition, replayedPosition } from '../db/replica-position.ts'
import { ClientSlots } from './client-slots.ts'
import { clientOf } from '../auth/client.ts'

const NEVER_ABORTED = new AbortController().signal

// SQLSTATE query_canceled: the statement timeout, or a cancel request.
const QUERY_CANCELED = '57014'
// SQLSTATE serialization_failure: the service reads in READ COMMITTED, so only
// a replica's recovery conflict (replay had to remove rows the statement could
// still see) gives it; the same read a moment later runs.
const RECOVERY_CONFLICT = '40001'

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

/** The read pools: the primary's, and a replica's when DATABASE_READ_URL is set. */
export interface ReadPools {
  primary: ReadPool
  replica?: ReadPool
}

/**
 * What a read must see. undefined: a first read, whatever the replica holds.
 * `{ seen }`: it continues an earlier read, which saw the database up to that
 * position (undefined: up to where is not known). 'now': every commit made
 * before it starts.
 */
export type ReadAfter = undefined | { seen: string | undefined } | 'now'

/** A read's result, and how far the database it ran on stood: what a read continuing it must see (ReadAfter). */
export interface Placed<T> {
  value: T
  seen: string | undefined
}

export class QueryRunner {
  readonly #pools: ReadPools
  readonly #slots: ClientSlots
  readonly #options: QueryRunnerOptions

  constructor (pools: ReadPools, options: QueryRunnerOptions) {
    this.#pools = pools
    this.#slots = new ClientSlots(options.perClient)
    this.#options = options
  }

  /** Whether reads may run on a replica. */
  get replicated (): boolean {
    return this.#pools.replica !== undefined
  }

  /**
   * Runs the work of an authenticated request on the primary's read pool:
   * reads that must see the latest writes (keys, the audit trail).
   */
  async run<T> (request: FastifyRequest, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return await this.#within(request, async (signal) => await this.#pools.primary.run(signal, work))
  }

  /** Runs the work on the replica when there is one: reads where a lag of a moment does no harm (stats, export, usage). */
  async runOnReplica<T> (request: FastifyRequest, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const pool = this.#pools.replica ?? this.#pools.primary
    return await this.#within(request, async (signal) => await pool.run(signal, work))
  }

  /**
   * Runs a read that may continue another (a page after a cursor, a tail's
   * resume) where it can see everything `after` asks for: on the replica when
   * it has replayed that far, asked on the connection the read then uses (a
   * DATABASE_READ_URL balanced over several replicas included); on the
   * primary otherwise. Without a replica, on the primary, and nothing is seen.
   */
  async runAfter<T> (request: FastifyRequest, after: ReadAfter, work: (db: Kysely<Database>) => Promise<T>): Promise<Placed<T>> {
    const { primary, replica } = this.#pools
    if (replica === undefined) return { value: await this.run(request, work), seen: undefined }
    return await this.#within(request, async (signal) => {
      const needed = after === 'now' ? await primary.run(signal, primaryPosition) : after
      // A read that continues one whose position is unknown (a replica that replays no log, an older cursor): only the primary surely holds what it saw.
      if (typeof needed === 'object' && needed.seen === undefined) return await this.#onPrimary(signal, work)
      const position = typeof needed === 'object' ? needed.seen : needed
      const onReplica = await replica.run(signal, async (db) => await db.connection().execute(async (connection) => {
        // Asked before the read, on its connection: the read's snapshot, taken after, holds at least this much.
        if (position !== undefined && !await hasReplayed(connection, position)) return undefined
        const value = await work(connection)
        // Asked after: at or past everything the read saw.
        return { value, seen: await replayedPosition(connection) }
      }))
      return onReplica ?? await this.#onPrimary(signal, work)
    })
  }

  async #onPrimary<T> (signal: AbortSignal, work: (db: Kysely<Database>) => Promise<T>): Promise<Placed<T>> {
    return await this.#pools.primary.run(signal, async (db) => {
      const value = await work(db)
      return { value, seen: await primaryPosition(db) }
    })
  }

  async #within<T> (request: FastifyRequest, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const gone = whenClientGoes(request)
    try {
      if (gone.signal.aborted) throw Errors.clientClosedRequest()
      // Refused at once rather than queued: a queued query would still hold
      // its connection to the service, and the client learns to pace itself.
      const release = this.#slots.take(clientOf(request).id)
      if (release === undefined) throw Errors.tooManyQueries(this.#slots.limit)
      try {
        return await work(gone.signal)
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
   * read of new logs, shared by all the tails of a client), on the primary's
   * read pool (a replica may not hold yet the logs just announced): under
   * the statement timeout, with no client's slot to take and no client to go away.
   */
  async background<T> (work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.#pools.primary.run(NEVER_ABORTED, work)
    } catch (error) {
      throw this.#answer(error, NEVER_ABORTED)
    }
  }

  /** Queries the client has running on this instance. */
  running (clientId: string): number {
    return this.#slots.running(clientId)
  }

  /** The use of the pool the query routes read most: the replica's when there is one. */
  poolUse (): PoolUse {
    return (this.#pools.replica ?? this.#pools.primary).use()
  }

  /** The use of each read pool. */
  poolsUse (): { primary: PoolUse, replica?: PoolUse } {
    const replica = this.#pools.replica
    return { primary: this.#pools.primary.use(), ...(replica === undefined ? {} : { replica: replica.use() }) }
  }

  #answer (error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted && (error instanceof WorkAbortedError || sqlState(error) === QUERY_CANCELED)) return Errors.clientClosedRequest()
    if (sqlState(error) === QUERY_CANCELED) {
      this.#options.timedOut?.()
      return Errors.queryTimeout(this.#options.timeoutMs, this.#options.retryAfterSeconds)
    }
    if (error instanceof ReadPoolBusyError) return Errors.queriesBusy(this.#options.retryAfterSeconds)
    if (sqlState(error) === RECOVERY_CONFLICT) return Errors.databaseUnavailable(this.#options.retryAfterSeconds)
    return error
  }
}
