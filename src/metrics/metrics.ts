// The service's own Prometheus metrics, on a registry of each app (tests
// build many apps in one process; the process's own metrics are apart, in
// process-metrics.ts). What the request path records is a counter or a
// histogram bumped in memory; what a part of the service already knows (pool
// use, queue lengths, cache counts, open tails) is read only when scraped.
//
// Labels are bounded by construction: a route's pattern (never its URL), a
// status class, an error code from the closed set, a protocol, an outcome, a
// reason. No label names a client, a key or a log, except the per-client
// series, which exist only with METRICS_PER_CLIENT=true.
import { Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration } from 'prom-client'
import type { ErrorCode } from '../errors.ts'
import { processMetrics } from './process-metrics.ts'
import { RequestHistogram } from './request-histogram.ts'

/** Which ingest route took the entries: the native one, or a shipper protocol's. */
export type IngestProtocol = 'native' | 'otlp' | 'loki' | 'elasticsearch'
const INGEST_PROTOCOLS: readonly IngestProtocol[] = ['native', 'otlp', 'loki', 'elasticsearch']

/**
 * What became of a log entry: stored, a duplicate of one stored before (its
 * event_id), rejected as invalid (it or another entry of its atomic batch),
 * or refused valid (a limit, the storage quota, a failed write).
 */
export type EntryOutcome = 'stored' | 'duplicate' | 'rejected' | 'refused'
const ENTRY_OUTCOMES: readonly EntryOutcome[] = ['stored', 'duplicate', 'rejected', 'refused']

/** The limit a request was refused by (429, or 403 at the storage quota). */
export type Limit = 'requests' | 'ingest_entries' | 'ingest_bytes' | 'storage_quota'
const LIMITS: readonly Limit[] = ['requests', 'ingest_entries', 'ingest_bytes', 'storage_quota']

/** What is saturated when the service answers 503 overloaded. */
export type PressureReason = 'event_loop' | 'heap' | 'write_queue'

export const PRESSURE_REASONS: readonly PressureReason[] = ['event_loop', 'heap', 'write_queue']

export interface PoolReading {
  /** Connections checked out. */
  inUse: number
  /** Connections open and waiting for work. */
  idle: number
  /** Requests waiting for a connection. */
  waiting: number
  max: number
}

/** What the gauges read when scraped, from the parts of the service that know it. */
export interface Readings {
  writePool: () => PoolReading
  readPool: () => PoolReading
  /** Undefined without DATABASE_READ_URL: there is no replica pool. */
  replicaPool: (() => PoolReading) | undefined
  writeQueue: () => { requests: number, rows: number, writing: number }
  keyCache: () => { hits: number, misses: number, lookups: number }
  throttledAddresses: () => number
  openTails: () => number
  /** Undefined without REDIS_URL: there is no Redis to be up. */
  redisUp: (() => boolean) | undefined
  /** Whether each limit of back-pressure is passed right now. */
  pressure: () => ReadonlySet<PressureReason>
}

export interface MetricsOptions {
  perClient: boolean
  readings: Readings
}

const PREFIX = 'central_logger_'

// From 1 ms (a cached key, one entry committed in a group) to 30 s (an export page, a slow query).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
// Requests and rows of a group: from one lone request to full groups of MAX_BATCH_ENTRIES rows.
const GROUP_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx']

/** A status code's class, "2xx" to "5xx": one series per class rather than per code. */
function statusClass (statusCode: number): string {
  return STATUS_CLASSES[Math.floor(statusCode / 100) - 1] ?? 'other'
}

export class Metrics {
  readonly registry = new Registry()
  readonly #httpDuration: RequestHistogram
  readonly #errorAnswers: Counter<'code'>
  readonly #entries: Counter<'protocol' | 'outcome'>
  readonly #limited: Counter<'limit'>
  readonly #authFailures: Counter<'reason'>
  readonly #authBlocks: Counter
  readonly #groupRequests: Histogram
  readonly #groupRows: Histogram
  readonly #commitSeconds: Histogram<'outcome'>
  readonly #writeTimeouts: Counter
  readonly #queryTimeouts: Counter
  readonly #overloaded: Counter<'reason'>
  readonly #clientEntries: Counter<'client_id' | 'outcome'> | undefined
  readonly #clientLimited: Counter<'client_id' | 'limit'> | undefined

  constructor ({ perClient, readings }: MetricsOptions) {
    const registers = [this.registry]

    this.#httpDuration = new RequestHistogram(`${PREFIX}http_request_duration_seconds`,
      'Time from a request\'s arrival to its answer, by route pattern and status class; _count counts the requests.', LATENCY_BUCKETS)
    this.#errorAnswers = new Counter({
      name: `${PREFIX}error_answers_total`,
      help: 'Error answers (4xx, 5xx) by their code.',
      labelNames: ['code'],
      registers
    })
    this.#entries = new Counter({
      name: `${PREFIX}log_entries_total`,
      help: 'Log entries received by the ingest routes, by protocol and outcome: stored, duplicate (event_id stored before), ' +
        'rejected (invalid), refused (valid, but over a limit or quota, or their write failed).',
      labelNames: ['protocol', 'outcome'],
      registers
    })
    this.#limited = new Counter({
      name: `${PREFIX}limited_requests_total`,
      help: 'Requests refused by a client\'s limit: requests per window, ingest entries or bytes per minute, storage quota.',
      labelNames: ['limit'],
      registers
    })
    this.#authFailures = new Counter({
      name: `${PREFIX}auth_failures_total`,
      help: 'Failed authentications, by the error code answered (auth_throttled: refused while the address was blocked).',
      labelNames: ['reason'],
      registers
    })
    this.#authBlocks = new Counter({
      name: `${PREFIX}auth_blocks_total`,
      help: 'Addresses this instance blocked for failing authentication too often.',
      registers
    })
    this.#groupRequests = new Histogram({
      name: `${PREFIX}write_group_requests`,
      help: 'Ingest requests written together in one statement and commit (group commit).',
      buckets: GROUP_BUCKETS,
      registers
    })
    this.#groupRows = new Histogram({
      name: `${PREFIX}write_group_rows`,
      help: 'Log entries written together in one statement and commit.',
      buckets: GROUP_BUCKETS,
      registers
    })
    this.#commitSeconds = new Histogram({
      name: `${PREFIX}write_commit_seconds`,
      help: 'Time of a group\'s INSERT and commit, by outcome (committed, failed).',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers
    })
    this.#writeTimeouts = new Counter({
      name: `${PREFIX}write_timeouts_total`,
      help: 'Ingest requests answered 503 write_timeout: not committed within WRITE_TIMEOUT_MS.',
      registers
    })
    this.#queryTimeouts = new Counter({
      name: `${PREFIX}query_timeouts_total`,
      help: 'Statements of the query routes (and of live tails\' reads) stopped by QUERY_TIMEOUT_MS.',
      registers
    })
    this.#overloaded = new Counter({
      name: `${PREFIX}overloaded_requests_total`,
      help: 'Requests answered 503 overloaded, by what was saturated.',
      labelNames: ['reason'],
      registers
    })
    if (perClient) {
      this.#clientEntries = new Counter({
        name: `${PREFIX}client_log_entries_total`,
        help: 'Log entries received, by client and outcome (METRICS_PER_CLIENT=true).',
        labelNames: ['client_id', 'outcome'],
        registers
      })
      this.#clientLimited = new Counter({
        name: `${PREFIX}client_limited_requests_total`,
        help: 'Requests refused by a client\'s limit, by client and limit (METRICS_PER_CLIENT=true).',
        labelNames: ['client_id', 'limit'],
        registers
      })
    }
    // Every series of a closed set from the start, at 0: a rate over a series that appears only at its first event misses that event.
    for (const protocol of INGEST_PROTOCOLS) for (const outcome of ENTRY_OUTCOMES) this.#entries.inc({ protocol, outcome }, 0)
    for (const limit of LIMITS) this.#limited.inc({ limit }, 0)
    for (const reason of PRESSURE_REASONS) this.#overloaded.inc({ reason }, 0)
    registerReadings(registers, readings)
  }

  /** A request answered: `route` is its pattern, undefined when no route matched. */
  httpRequest (method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.#httpDuration.observe(method, route ?? 'unmatched', statusClass(statusCode), seconds)
  }

  errorAnswer (code: ErrorCode): void {
    this.#errorAnswers.inc({ code })
  }

  entries (protocol: IngestProtocol, outcome: EntryOutcome, count: number, clientId: string): void {
    if (count === 0) return
    this.#entries.inc({ protocol, outcome }, count)
    this.#clientEntries?.inc({ client_id: clientId, outcome }, count)
  }

  limited (limit: Limit, clientId: string): void {
    this.#limited.inc({ limit })
    this.#clientLimited?.inc({ client_id: clientId, limit })
  }

  authFailure (reason: ErrorCode): void {
    this.#authFailures.inc({ reason })
  }

  authBlock (): void {
    this.#authBlocks.inc()
  }

  /** A group's write ended: its requests and rows, and how long its statement and commit took. */
  writeGroup (requests: number, rows: number, seconds: number, committed: boolean): void {
    this.#groupRequests.observe(requests)
    this.#groupRows.observe(rows)
    this.#commitSeconds.observe({ outcome: committed ? 'committed' : 'failed' }, seconds)
  }

  writeTimeout (): void {
    this.#writeTimeouts.inc()
  }

  queryTimeout (): void {
    this.#queryTimeouts.inc()
  }

  overloaded (reason: PressureReason): void {
    this.#overloaded.inc({ reason })
  }

  /** The Prometheus text of this app's metrics and the process's. */
  async render (): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), processMetrics().metrics()])
    return `${this.#httpDuration.text()}\n\n${own}\n${process}`
  }

  get contentType (): string {
    return this.registry.contentType
  }
}

/** The gauges (and counters kept elsewhere) read at scrape time. */
function registerReadings (registers: Registry[], readings: Readings): void {
  // Each registers itself in `registers`, which holds it from then on.
  const gauge = <T extends string>(config: GaugeConfiguration<T>): Gauge<T> => new Gauge({ ...config, registers })
  const counter = <T extends string>(config: CounterConfiguration<T>): Counter<T> => new Counter({ ...config, registers })
  const pools: Record<string, () => PoolReading> = { write: readings.writePool, read: readings.readPool }
  if (readings.replicaPool !== undefined) pools.replica = readings.replicaPool
  gauge({
    name: `${PREFIX}db_pool_connections`,
    help: 'Connections of each database pool (write: ingest, authentication, usage; read: the query routes on DATABASE_URL; ' +
      'replica: those on DATABASE_READ_URL), in use or idle.',
    labelNames: ['pool', 'state'],
    collect () {
      for (const [pool, read] of Object.entries(pools)) {
        const use = read()
        this.set({ pool, state: 'in_use' }, use.inUse)
        this.set({ pool, state: 'idle' }, use.idle)
      }
    }
  })
  gauge({
    name: `${PREFIX}db_pool_waiting`,
    help: 'Requests waiting for a connection of each database pool.',
    labelNames: ['pool'],
    collect () {
      for (const [pool, read] of Object.entries(pools)) this.set({ pool }, read().waiting)
    }
  })
  gauge({
    name: `${PREFIX}db_pool_max`,
    help: 'The most connections each database pool opens (DB_POOL_MAX, DB_READ_POOL_MAX).',
    labelNames: ['pool'],
    collect () {
      for (const [pool, read] of Object.entries(pools)) this.set({ pool }, read().max)
    }
  })
  gauge({
    name: `${PREFIX}write_queue_rows`,
    help: 'Log entries waiting for their group\'s write to start (PRESSURE_MAX_WRITE_QUEUE_ROWS bounds it).',
    collect () { this.set(readings.writeQueue().rows) }
  })
  gauge({
    name: `${PREFIX}write_queue_requests`,
    help: 'Ingest requests waiting for their group\'s write to start.',
    collect () { this.set(readings.writeQueue().requests) }
  })
  gauge({
    name: `${PREFIX}writes_in_flight`,
    help: 'Group writes running, each on a connection of the write pool.',
    collect () { this.set(readings.writeQueue().writing) }
  })
  counter({
    name: `${PREFIX}key_cache_requests_total`,
    help: 'Keys looked for in the key cache, by result: hit (judged without the database), miss.',
    labelNames: ['result'],
    collect () {
      const { hits, misses } = readings.keyCache()
      this.reset()
      this.inc({ result: 'hit' }, hits)
      this.inc({ result: 'miss' }, misses)
    }
  })
  counter({
    name: `${PREFIX}key_lookups_total`,
    help: 'Keys looked up in the database.',
    collect () {
      this.reset()
      this.inc(readings.keyCache().lookups)
    }
  })
  gauge({
    name: `${PREFIX}auth_throttled_addresses`,
    help: 'Addresses (IPv6: /64 groups) blocked now for failing authentication too often.',
    collect () { this.set(readings.throttledAddresses()) }
  })
  gauge({
    name: `${PREFIX}tails_open`,
    help: 'Live tails open on this instance.',
    collect () { this.set(readings.openTails()) }
  })
  const redisUp = readings.redisUp
  if (redisUp !== undefined) {
    gauge({
      name: `${PREFIX}redis_up`,
      help: '1 while Redis (REDIS_URL) is connected and ready, 0 while shared counters fall back.',
      collect () { this.set(redisUp() ? 1 : 0) }
    })
  }
  gauge({
    name: `${PREFIX}overloaded`,
    help: '1 while a limit of back-pressure is passed (requests answered 503 overloaded, /ready 503), by reason.',
    labelNames: ['reason'],
    collect () {
      const passed = readings.pressure()
      for (const reason of PRESSURE_REASONS) this.set({ reason }, passed.has(reason) ? 1 : 0)
    }
  })
}
