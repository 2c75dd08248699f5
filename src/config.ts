// The service's configuration: one schema, read from the environment and `.env`
// by @fastify/env in the service and by env-schema (the library under it) in
// the CLI, so both accept and reject exactly the same values.
import envSchema from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'

/** The largest byte count a setting takes (1 PiB): far beyond any real limit, and exact as a JavaScript number. */
export const MAX_BYTE_SETTING = 2 ** 50

export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024

export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server binds to.' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port.' }),
  LOG_LEVEL: Type.Unsafe<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>({
    type: 'string',
    enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    description: 'pino log level.'
  }),
  REQUEST_LOG: Type.Unsafe<'problems' | 'all'>({
    type: 'string',
    enum: ['problems', 'all'],
    default: 'problems',
    description: 'Which requests the service logs (at info): problems, one line for each request refused (4xx), failed (5xx) ' +
      'or slower than SLOW_REQUEST_MS; all, two lines for every request (when it arrives and when it is answered).'
  }),
  SLOW_REQUEST_MS: Type.Integer({
    minimum: 1,
    default: 1000,
    description: 'With REQUEST_LOG=problems, a request answered after this many milliseconds or more is logged.'
  }),
  DATABASE_URL: Type.Optional(Type.String({
    // Empty counts as unset, as compose files often write it.
    pattern: '^$|^postgres(ql)?://',
    description: 'PostgreSQL 14+ connection string. Unset or empty: an embedded PostgreSQL runs under DATA_DIR.'
  })),
  DATABASE_READ_URL: Type.Optional(Type.String({
    pattern: '^$|^postgres(ql)?://',
    description: 'A streaming replica of DATABASE_URL for the log queries (listing, stats, export, a tail\'s resume) and usage; ' +
      'writes, authentication and key management stay on DATABASE_URL. Unset or empty: everything on DATABASE_URL.'
  })),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'Where the embedded PostgreSQL keeps its files.' }),
  EMBEDDED_PG_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 0,
    description: 'Port of the embedded PostgreSQL; 0 picks a free one at each start.'
  }),
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Connections in the pool.' }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 5000,
    description: 'How long a request waits for a database connection before answering 503.'
  }),
  WRITE_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 10000,
    description: 'Longest an ingest request waits for its entries to be committed, queued behind other writes included; ' +
      'beyond it the answer is 503 write_timeout (the entries may still be stored: retry with the same event_id).'
  }),
  DB_READ_POOL_MAX: Type.Integer({
    minimum: 2,
    maximum: 1000,
    default: 5,
    description: 'Connections in the separate pool that serves the query routes, so that reads never take the connections ' +
      'of ingest, authentication and the usage and audit writes.'
  }),
  QUERY_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 10000,
    description: 'Longest a statement of a query route may run (PostgreSQL statement_timeout); beyond it the answer is 503 query_timeout.'
  }),
  QUERY_CONCURRENCY_PER_CLIENT: Type.Integer({
    minimum: 1,
    default: 2,
    description: 'Queries one client may have running at once on an instance, below DB_READ_POOL_MAX; one more is answered 429 too_many_queries.'
  }),
  MAX_PAGE_BYTES: Type.Integer({
    minimum: 1024,
    default: 4 * 1024 * 1024,
    description: 'Largest page of a listing, counted on its messages and attributes (audit: details); a page that reaches it ' +
      'ends early with a next_cursor.'
  }),
  RETENTION_DAYS: Type.Integer({
    minimum: 1,
    maximum: 36500,
    default: 30,
    description: 'Days a log is kept after its executed_at, for a client without its own retention (keys retention).'
  }),
  PURGE_INTERVAL_MS: Type.Integer({
    minimum: 0,
    default: 3600000,
    description: 'How often the service deletes expired logs (one instance at a time); 0: never in the service, only by npm run purge.'
  }),
  SEARCH_INDEX_MERGE_MS: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 50,
    description: 'While the instance writes logs, how often it merges the text-search index\'s new entries, off the write path; ' +
      '0: never (PostgreSQL then merges inside the INSERT that fills the list, stalling its writes).'
  }),
  PURGE_BATCH_ROWS: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 5000,
    description: 'Expired logs deleted per transaction: each batch holds its row locks briefly, so ingest and queries go on.'
  }),
  TAIL_MAX_PER_CLIENT: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'Live tails (GET /api/v1/logs/tail) one client may have open at once on an instance; one more is answered 429 too_many_tails.'
  }),
  TAIL_HEARTBEAT_MS: Type.Integer({
    minimum: 100,
    default: 15000,
    description: 'How often an open tail gets a comment line, so that proxies and clients see the connection alive.'
  }),
  TAIL_RESUME_MAX: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 1000,
    description: 'Most logs a tail resumed with Last-Event-ID is sent from before it opened.'
  }),
  RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, default: 5, description: 'Retry-After sent with 503 answers.' }),
  KEY_CACHE_TTL_SECONDS: Type.Integer({
    minimum: 0,
    default: 30,
    description: 'How long a resolved API key is trusted without asking the database again.'
  }),
  KEY_CACHE_MAX: Type.Integer({ minimum: 1, default: 10000, description: 'Resolved keys kept in memory.' }),
  API_KEYS: Type.Optional(Type.String({
    description: 'Development keys as JSON, {"<key>": "<client>"} or {"<key>": {"id", "name", "scopes", "secret_key"}}; ' +
      'API_KEY_<NAME>=key:id:name:secret variables are read too. Plaintext keys: not for production.'
  })),
  TRUST_PROXY: Type.String({
    default: 'false',
    description: 'Whether X-Forwarded-For names the client address: false, true (trust every proxy), ' +
      'a number of proxy hops, or a comma-separated list of proxy addresses or CIDR ranges.'
  }),
  RATE_LIMIT_MAX: Type.Integer({
    minimum: 1,
    default: 1200,
    description: 'Requests one client may make per RATE_LIMIT_WINDOW, across all its keys; beyond that, 429.'
  }),
  RATE_LIMIT_WINDOW: Type.String({
    pattern: '^[1-9][0-9]{0,5}[smh]$',
    default: '1m',
    description: 'The rate limit window: a number and s, m or h (30s, 1m, 1h).'
  }),
  INGEST_RATE_LIMIT: Type.Integer({
    minimum: 1,
    default: 60000,
    description: 'Log entries one client may send per minute, across all its keys (a batch counts each entry); beyond that, 429.'
  }),
  INGEST_BYTES_LIMIT: Type.Integer({
    minimum: 1024,
    maximum: MAX_BYTE_SETTING,
    default: 64 * 1024 * 1024,
    description: 'Bytes of log entries (their counted size: text fields and attributes as stored) one client may send per ' +
      'minute, across all its keys; beyond that, 429. At least MAX_BODY_BYTES, so that a full request can be accepted.'
  }),
  STORAGE_QUOTA_BYTES: Type.Integer({
    minimum: 0,
    maximum: MAX_BYTE_SETTING,
    default: 0,
    description: 'Bytes of stored logs (their counted size) at which a client\'s ingest is refused with 403; 0: no quota.'
  }),
  REDIS_URL: Type.Optional(Type.String({
    pattern: '^$|^rediss?://',
    description: 'Redis, so that every instance shares rate-limit, ingest-volume and failed-authentication counters and ' +
      'request nonces. Unset or empty: counters are per process, nonces in PostgreSQL.'
  })),
  REDIS_PREFIX: Type.String({
    pattern: '^[!-~]{0,100}$',
    default: 'central-logger:',
    description: 'What every Redis key and channel of this deployment starts with, so that deployments sharing one Redis ' +
      'never share counters, blocks or nonces.'
  }),
  API_SIGNING_REQUIRED: Type.Boolean({
    default: false,
    description: 'Whether every client must sign its requests (X-API-Timestamp, X-API-Nonce, X-API-Signature); ' +
      'otherwise only the clients given a signing secret must.'
  }),
  SIGNING_KEY: Type.Optional(Type.String({
    pattern: '^$|^.{32,}$',
    description: 'The service\'s key that clients\' signing secrets are derived from (at least 32 characters, e.g. ' +
      '`openssl rand -hex 32`). Needed by the service and the CLI once any client signs; changing it changes every secret.'
  })),
  AUTH_FAIL_MAX: Type.Integer({
    minimum: 0,
    default: 30,
    description: 'Failed authentications one address may make per AUTH_FAIL_WINDOW_SECONDS before it is answered 429; 0 disables this.'
  }),
  AUTH_FAIL_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 60, description: 'The window failed authentications are counted in.' }),
  AUTH_FAIL_COOLDOWN_SECONDS: Type.Integer({
    minimum: 1,
    default: 300,
    description: 'How long an address past AUTH_FAIL_MAX is answered 429 without its key being looked at.'
  }),
  USAGE_FLUSH_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 300,
    default: 5,
    description: 'How often last use, usage counters and authentication failures are written to the database.'
  }),
  MAX_BODY_BYTES: Type.Integer({
    minimum: 1024,
    default: DEFAULT_MAX_BODY_BYTES,
    description: 'Largest request body, counted after decompression.'
  }),
  MAX_BATCH_ENTRIES: Type.Integer({ minimum: 1, default: 1000, description: 'Most log entries in one request.' }),
  MAX_ENTRY_FIELDS: Type.Integer({
    minimum: 16,
    default: 1000,
    description: 'Most fields and array items one log entry (or any other JSON body) may hold, counted at every depth; ' +
      'a bigger one is refused before it is parsed.'
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 30_000,
    description: 'How long a request may take to arrive, headers and body; a slower one is answered 408 and its connection closed.'
  }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 4096, description: 'Connections the service holds open at once, in all.' }),
  MAX_CONNECTIONS_PER_ADDRESS: Type.Integer({
    minimum: 1,
    default: 256,
    description: 'Connections one address (an IPv6 /64) may hold open at once; not applied to trusted proxies (TRUST_PROXY).'
  }),
  MAX_INFLIGHT_BODY_BYTES: Type.Integer({
    minimum: 1024,
    default: 512 * 1024 * 1024,
    description: 'Bytes of request bodies (after decompression) received and not yet answered, in all; beyond, 503.'
  }),
  MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS: Type.Integer({
    minimum: 1024,
    default: 64 * 1024 * 1024,
    description: 'The same, for the requests of one client address (an IPv6 /64; behind a trusted proxy, the forwarded address).'
  }),
  METRICS_TOKEN: Type.Optional(Type.String({
    pattern: '^$|^[!-~]{16,}$',
    description: 'Bearer token GET /metrics requires (Authorization: Bearer <token>), at least 16 printable characters; ' +
      'unset or empty: none (then keep /metrics out of reach some other way, e.g. METRICS_PORT).'
  })),
  // A string, so that an empty value counts as unset (as compose files write it) rather than as port 0.
  METRICS_PORT: Type.Optional(Type.String({
    pattern: '^$|^(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$',
    description: 'Serve GET /metrics on this port of its own (METRICS_HOST) instead of PORT; 0 picks a free one. ' +
      'Unset: /metrics is served on PORT.'
  })),
  METRICS_HOST: Type.Optional(Type.String({
    description: 'Address the METRICS_PORT listener binds to; unset or empty: HOST.'
  })),
  METRICS_PER_CLIENT: Type.Boolean({
    default: false,
    description: 'Whether /metrics also counts log entries and limited requests per client (a client_id label, one ' +
      'series per client and outcome); off, no label names a client, key or log.'
  }),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    minimum: 0,
    default: 1000,
    description: 'Mean event-loop delay over a sample (PRESSURE_SAMPLE_INTERVAL_MS) beyond which requests are answered ' +
      '503 overloaded and /ready 503; 0: not checked.'
  }),
  PRESSURE_MAX_HEAP_FRACTION: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.9,
    description: 'Share of V8\'s heap limit (--max-old-space-size) in use beyond which requests are answered 503 overloaded ' +
      'and /ready 503; 0: not checked.'
  }),
  PRESSURE_MAX_WRITE_QUEUE_ROWS: Type.Integer({
    minimum: 0,
    default: 50000,
    description: 'Log entries waiting for the database to start their write, beyond which ingest requests are answered ' +
      '503 overloaded and /ready 503; 0: not checked.'
  }),
  PRESSURE_SAMPLE_INTERVAL_MS: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 1000,
    description: 'How often the event-loop delay and the heap are sampled for PRESSURE_MAX_EVENT_LOOP_DELAY_MS and PRESSURE_MAX_HEAP_FRACTION.'
  }),
  PUBLIC_URL: Type.String({
    default: 'http://127.0.0.1:3000',
    description: 'The address clients reach the service at, used in the CLI\'s hand-over message.'
  })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

/** env-schema's options: read `source`, or process.env and `.env` when none is given. */
export function envOptions (source?: Record<string, string | undefined>) {
  return { schema: ConfigSchema, data: source ?? {}, env: source === undefined, dotenv: source === undefined }
}

/** The port of the metrics listener, or undefined when /metrics is served on PORT. */
export function metricsPort (config: Config): number | undefined {
  const port = config.METRICS_PORT
  return port === undefined || port === '' ? undefined : Number(port)
}

/** RATE_LIMIT_WINDOW in milliseconds. */
export function windowMs (text: string): number {
  const unit = { s: 1000, m: 60_000, h: 3_600_000 }[text.slice(-1) as 's' | 'm' | 'h']
  return Number(text.slice(0, -1)) * unit
}

export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean)

/** TRUST_PROXY as Fastify's trustProxy option; a list is checked when the server is built. */
export function trustProxySetting (value: string): TrustProxy {
  const text = value.trim().toLowerCase()
  if (text === '' || text === 'false') return false
  if (text === 'true') return true
  if (/^\d+$/.test(text)) {
    // A hop count: the address that many proxies back. Fastify ignores a bare
    // number, so it is given as the function proxy-addr calls for each hop.
    const hops = Number(text)
    return (_address, hop) => hop < hops
  }
  return text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
}

/** Rules between variables, which the schema cannot say; throws naming them. */
export function checkConfig (config: Config): Config {
  if (config.DATABASE_READ_URL !== undefined && config.DATABASE_READ_URL !== '' && (config.DATABASE_URL === undefined || config.DATABASE_URL === '')) {
    throw new Error('DATABASE_READ_URL is set but DATABASE_URL is not: a replica is read beside a PostgreSQL of your own, ' +
      'not beside the embedded one. Set DATABASE_URL to its primary, or unset DATABASE_READ_URL.')
  }
  if (config.INGEST_BYTES_LIMIT < config.MAX_BODY_BYTES) {
    throw new Error(`INGEST_BYTES_LIMIT (${config.INGEST_BYTES_LIMIT}) must be at least MAX_BODY_BYTES (${config.MAX_BODY_BYTES}): ` +
      'otherwise a request of the largest size allowed could never be accepted.')
  }
  return config
}

export function loadConfig (source?: Record<string, string | undefined>): Config {
  return checkConfig(envSchema<Config>(envOptions(source)))
}
