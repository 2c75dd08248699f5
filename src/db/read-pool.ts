// The query routes' own pool of connections, apart from the one that serves
// ingest, authentication and the usage and audit writes, so that reads can
// never take the connections writes need. It knows for which request each
// connection is working (each run has a Kysely handle of its own, bound to the
// request's signal): when that request's client goes away, the statement
// running for it is cancelled on the server and the connection leaves the
// pool's busy set at once. (Not through AsyncLocalStorage: on Node.js 20 its
// first use turns async hooks on for the whole process, and every request,
// writes too, pays for them from then on.)
import { Kysely, PostgresDialect, type PostgresCursor, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely'
import type pg from 'pg'
import { createPool, endPool, type ConnectOptions } from './connect.ts'
import type { Database } from './schema.ts'

/** Every connection of the pool stayed taken for as long as a request may wait for one. */
export class ReadPoolBusyError extends Error {
  constructor () {
    super('every connection of the read pool is in use')
    this.name = 'ReadPoolBusyError'
  }
}

/** The work's signal was aborted (its request is gone) before a statement could start. */
export class WorkAbortedError extends Error {
  constructor () {
    super('the work was abandoned before its statement started')
    this.name = 'WorkAbortedError'
  }
}

export interface PoolUse {
  /** Connections open. */
  total: number
  /** Of those, waiting in the pool for work. */
  idle: number
  /** Requests waiting for a connection. */
  waiting: number
}

export interface ReadPoolOptions extends ConnectOptions {
  poolMax: number
  /**
   * Stops the statement a backend is running (pg_cancel_backend on a
   * connection of another pool): this pool's may all be taken.
   */
  cancelBackend: (pid: number) => Promise<void>
  onCancelError?: (error: unknown) => void
}

// pg's message when a request waited connectionTimeoutMillis in the pool's
// queue, every connection taken; connecting anew fails with other messages.
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect'

/** The backend process id pg learnt when it connected (BackendKeyData); pg's type declarations leave it out. */
function backendPid (client: pg.PoolClient): number | undefined {
  const pid = (client as { processID?: unknown }).processID
  return typeof pid === 'number' ? pid : undefined
}

/**
 * The connection as Kysely uses it, each statement run through pg's callback
 * form of query() rather than its promise form. Measured on an export (README,
 * Performance): read through the promise form, most rows of a page live long
 * enough for V8 to move them to the old generation (some 120 MB for 200,000
 * logs, a full collection every ~100 MB of it), through the callback form
 * almost none do (12 MB), though the statement, rows and time are the same.
 */
function withCallbackQueries (client: pg.PoolClient): PostgresPoolClient {
  function query<R> (sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>
  function query<R> (cursor: PostgresCursor<R>): PostgresCursor<R>
  function query<R> (statement: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Kysely asks for a cursor only when its dialect has one, which this pool's has not.
    if (typeof statement !== 'string') throw new Error('the read pool runs no cursors')
    return new Promise((resolve, reject) => {
      client.query(statement, [...parameters], (error: Error | null, result: pg.QueryResult) => {
        if (error !== null) reject(error)
        else resolve(result as unknown as PostgresQueryResult<R>)
      })
    })
  }
  return { query, release: (destroy?: boolean) => { client.release(destroy) } }
}

export class ReadPool {
  /** Reached through run() only, so that no statement runs here unwatched. */
  readonly #pool: pg.Pool
  readonly #options: ReadPoolOptions

  constructor (connectionString: string, options: ReadPoolOptions) {
    this.#options = options
    this.#pool = createPool(connectionString, options)
  }

  /**
   * Runs `work` on this pool for a request: once `signal` aborts, a statement
   * it has running is cancelled on the server, and it cannot start another.
   */
  async run<T> (signal: AbortSignal, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    // Closing is the pool's own (close()): ending this handle ends nothing.
    const pool: PostgresPool = { connect: async () => withCallbackQueries(await this.#connect(signal)), end: async () => {} }
    return await work(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }))
  }

  use (): PoolUse {
    return { total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount }
  }

  async close (): Promise<void> {
    await endPool(this.#pool)
  }

  async #connect (signal: AbortSignal): Promise<pg.PoolClient> {
    if (signal.aborted) throw new WorkAbortedError()
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      if (error instanceof Error && error.message === POOL_WAIT_TIMEOUT) throw new ReadPoolBusyError()
      throw error
    }
    // Aborted while it waited for the connection: no statement starts for a request that is gone.
    if (signal.aborted) {
      client.release()
      throw new WorkAbortedError()
    }
    return this.#watched(client, signal)
  }

  /** The connection, its statement cancelled on the server if the signal aborts while it is checked out. */
  #watched (client: pg.PoolClient, signal: AbortSignal): pg.PoolClient {
    let cancelSent = false
    const cancel = (): void => {
      const pid = backendPid(client)
      if (pid === undefined) return
      cancelSent = true
      this.#options.cancelBackend(pid).catch((error: unknown) => { this.#options.onCancelError?.(error) })
    }
    signal.addEventListener('abort', cancel, { once: true })
    // pg-pool gives each checkout its own release function, so wrapping this one changes no other checkout.
    const release = client.release
    client.release = (destroy?: boolean | Error) => {
      signal.removeEventListener('abort', cancel)
      // A cancel still on its way could stop the next request's statement on
      // this connection: a connection that was sent one is closed, not reused.
      release(destroy === undefined || destroy === false ? cancelSent : destroy)
    }
    return client
  }
}
