// Every 4xx/5xx the service sends has one JSON shape,
// {statusCode, error, code, message, details?}, built from these factories so
// that codes stay stable and greppable.
import { STATUS_CODES } from 'node:http'
import { formatBytes } from './bytes.ts'
import type { PressureReason } from './metrics/metrics.ts'
import { UNPRINTABLE_RULE, type TextProblem } from './text/unprintable.ts'

/**
 * Every code an error answer may carry: a closed set, each listed in the
 * README's error tables (test/health-and-docs.test.ts checks it), so that a client can
 * branch on a code it has read about.
 */
export const ERROR_CODES = [
  'address_not_allowed', 'allowlist_not_grantable', 'auth_throttled', 'bad_request', 'batch_over_ingest_bytes_limit',
  'batch_over_ingest_limit', 'client_closed_request', 'conflicting_api_keys', 'database_unavailable', 'empty_batch',
  'empty_body', 'expired_api_key', 'explorer_not_built', 'headers_too_large', 'ingest_bytes_rate_limited', 'ingest_rate_limited',
  'insufficient_scope', 'internal_error', 'invalid_allowlist', 'invalid_api_key', 'invalid_compressed_body',
  'invalid_content_length', 'invalid_content_type', 'invalid_cursor', 'invalid_encoding', 'invalid_entries',
  'invalid_forwarded_for', 'invalid_json', 'invalid_metrics_token', 'invalid_name', 'invalid_nonce', 'invalid_protobuf', 'invalid_request', 'invalid_signature',
  'invalid_timestamp', 'invalid_webhook_url', 'key_already_rotated', 'key_in_grace', 'key_not_active', 'malformed_api_key',
  'malformed_http_request', 'malformed_query', 'malformed_url', 'missing_api_key', 'missing_host_header',
  'nonce_reused', 'nonce_store_unavailable', 'not_found', 'overloaded', 'own_key', 'payload_too_large', 'queries_busy',
  'query_timeout', 'rate_limited', 'request_timeout', 'revoked_api_key', 'rotated_api_key', 'route_not_found',
  'scope_not_grantable', 'signature_required', 'signing_not_set_up', 'signing_unavailable', 'stale_timestamp',
  'storage_quota_exceeded', 'tail_unavailable', 'too_many_body_bytes', 'too_many_buckets', 'too_many_connections', 'too_many_entries',
  'too_many_fields', 'too_many_queries', 'too_many_tails', 'too_many_webhooks', 'unsupported_content_encoding', 'unsupported_media_type', 'uri_too_long',
  'write_timeout'
] as const

export type ErrorCode = typeof ERROR_CODES[number]

export class HttpError extends Error {
  readonly statusCode: number
  readonly code: ErrorCode
  readonly details: unknown
  readonly headers: Record<string, string>

  constructor (statusCode: number, code: ErrorCode, message: string, options: { details?: unknown, headers?: Record<string, string> } = {}) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
    this.details = options.details
    this.headers = options.headers ?? {}
  }
}

export interface ErrorBody {
  statusCode: number
  error: string
  code: ErrorCode
  message: string
  details?: unknown
}

/** The answer's body for an error, in the one shape every error has. */
export function errorBody ({ statusCode, code, message, details }: HttpError): ErrorBody {
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message }
  if (details !== undefined) body.details = details
  return body
}

const OVERLOAD_CAUSES: Record<PressureReason, string> = {
  event_loop: 'its event loop is delayed past PRESSURE_MAX_EVENT_LOOP_DELAY_MS',
  heap: 'its memory in use is past PRESSURE_MAX_HEAP_FRACTION of its heap limit',
  write_queue: 'more log entries wait for the database than PRESSURE_MAX_WRITE_QUEUE_ROWS'
}

const WWW_AUTHENTICATE = 'Bearer realm="central-logger", ApiKey realm="central-logger"'

function unauthorized (code: ErrorCode, message: string, details?: unknown): HttpError {
  return new HttpError(401, code, message, { headers: { 'www-authenticate': WWW_AUTHENTICATE }, details })
}

export const Errors = {
  missingKey: () => unauthorized('missing_api_key',
    'An API key is required: send it as X-API-Key, or in Authorization as Bearer, Api-Key, ApiKey or Basic (the key as the password).'),
  conflictingKeys: () => unauthorized('conflicting_api_keys',
    'The request carries two different API keys; send exactly one.'),
  malformedKey: () => unauthorized('malformed_api_key',
    'The API key is malformed: it is not a central-logger key, or its checksum does not match (a typo or a truncated copy).'),
  unknownKey: () => unauthorized('invalid_api_key', 'The API key is not valid.'),
  revokedKey: () => unauthorized('revoked_api_key', 'The API key has been revoked.'),
  expiredKey: () => unauthorized('expired_api_key', 'The API key has expired.'),
  rotatedKey: () => unauthorized('rotated_api_key',
    'The API key was rotated and its grace period has ended: use the key that replaced it.'),
  addressNotAllowed: (address: string) => new HttpError(403, 'address_not_allowed',
    `The API key does not accept requests from ${address}: the address is outside the key's allowlist.`,
    { details: { address } }),
  scopesNotGrantable: (scopes: string[]) => new HttpError(403, 'scope_not_grantable',
    `A key can only grant scopes it holds itself; the calling key lacks ${scopes.map((scope) => `"${scope}"`).join(', ')}.`,
    { details: { scopes } }),
  allowlistNotGrantable: (outside: string[] | null) => new HttpError(403, 'allowlist_not_grantable',
    outside === null
      ? 'The calling key is limited to an address allowlist, so a key it makes or changes must be limited within it too.'
      : `A key can only be allowed where the calling key is; outside its allowlist: ${outside.join(', ')}.`,
    { details: { outside } }),
  keyBeyondScopes: (scopes: string[]) => new HttpError(403, 'scope_not_grantable',
    'A key can only rotate, change or revoke keys whose every scope it holds itself; the target key has ' +
    `${scopes.map((scope) => `"${scope}"`).join(', ')}, which the calling key lacks.`,
    { details: { scopes } }),
  keyBeyondAllowlist: (outside: string[] | null) => new HttpError(403, 'allowlist_not_grantable',
    outside === null
      ? 'The calling key is limited to an address allowlist, so it can only rotate, change or revoke keys limited within it; the target key accepts any address.'
      : `The calling key can only rotate, change or revoke keys allowed within its own allowlist; the target key is also allowed from ${outside.join(', ')}.`,
    { details: { outside } }),
  keyInGrace: () => new HttpError(403, 'key_in_grace',
    'This key has been rotated and is only in its grace period: use the key that replaced it to manage keys.'),
  ownKey: (action: string, flag: string) => new HttpError(409, 'own_key',
    `This would ${action} the very key making the request. To do it anyway, repeat the request with ${flag}.`),
  conflict: (code: 'key_already_rotated' | 'key_not_active', message: string, details?: unknown) => new HttpError(409, code, message, { details }),
  invalidName: (field: string, found: TextProblem) => new HttpError(400, 'invalid_name',
    `The ${field} ${found.problem}. A name is one line of printable text: ${UNPRINTABLE_RULE} are refused, ` +
    'since they can disguise what a terminal shows.',
    { details: { field, ...(found.character === undefined ? {} : { character: found.character, position: found.position }) } }),
  invalidAllowlist: (message: string) => new HttpError(400, 'invalid_allowlist', message),
  invalidWebhookUrl: (message: string) => new HttpError(400, 'invalid_webhook_url', message),
  tooManyWebhooks: (most: number) => new HttpError(409, 'too_many_webhooks',
    `A client has at most ${most} webhook endpoints; delete one to add another.`, { details: { most } }),
  authThrottled: (retryAfterSeconds: number) => new HttpError(429, 'auth_throttled',
    `Too many failed authentications from this address; retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { retry_after_seconds: retryAfterSeconds } }),
  signatureRequired: (missing: string[]) => unauthorized('signature_required',
    `This client's requests must be signed; missing ${missing.join(', ')}. See the README's "Signed requests".`,
    { missing_headers: missing }),
  invalidTimestamp: () => unauthorized('invalid_timestamp', 'X-API-Timestamp must be the current time in whole unix seconds.'),
  staleTimestamp: (skew: number, serverTime: number, maxSkew: number) => unauthorized('stale_timestamp',
    `X-API-Timestamp is ${Math.abs(skew)} s ${skew < 0 ? 'behind' : 'ahead of'} the service's clock; at most ${maxSkew} s is accepted.`,
    { server_time: serverTime, max_skew_seconds: maxSkew }),
  invalidNonce: () => unauthorized('invalid_nonce', 'X-API-Nonce must be 16 to 128 printable ASCII characters, new for every request (a random UUID will do).'),
  invalidSignature: () => unauthorized('invalid_signature',
    'X-API-Signature does not match the request: it must be the hex HMAC-SHA256, with the client\'s signing secret, ' +
    'of timestamp + nonce + API key + METHOD + path + sorted query + hex SHA-256 of the body as sent.'),
  nonceReused: () => unauthorized('nonce_reused', 'This X-API-Nonce was used already: every signed request needs a new one.'),
  signingNotSetUp: () => unauthorized('signing_not_set_up',
    'Requests must be signed, and this client has no signing secret: ask the provider to issue one.'),
  signingUnavailable: () => new HttpError(503, 'signing_unavailable',
    'This client signs its requests, and the service cannot check signatures: SIGNING_KEY is not configured. Nothing was stored.'),
  nonceStoreUnavailable: (cause: unknown) => Object.assign(new HttpError(503, 'nonce_store_unavailable',
    'The service cannot record the request\'s nonce right now, so it cannot rule out a replay; nothing was stored. Retry later.',
    { headers: { 'retry-after': '1' } }), { cause }),
  missingScope: (scope: string) => new HttpError(403, 'insufficient_scope',
    `The API key lacks the "${scope}" scope this route needs.`, { details: { required_scope: scope } }),
  notFound: (what: string) => new HttpError(404, 'not_found', `${what} not found.`),
  invalidEntries: (details: unknown) => new HttpError(400, 'invalid_entries',
    'One or more log entries are invalid; nothing was stored.', { details }),
  emptyBatch: () => new HttpError(400, 'empty_batch', 'The request holds no log entries.'),
  invalidEncoding: () => new HttpError(400, 'invalid_encoding', 'The body is not valid UTF-8, which JSON must be.'),
  invalidFormEncoding: () => new HttpError(400, 'invalid_encoding',
    'The form-encoded body is not valid: each name and value must be UTF-8, percent-encoded (%XX for each byte that needs it).'),
  missingHost: () => new HttpError(400, 'missing_host_header', 'An HTTP/1.1 request must carry a Host header.'),
  malformedQuery: (problem: string) => new HttpError(400, 'malformed_query',
    `The query string is malformed: it holds ${problem}. Percent-encode each value as UTF-8 (a literal "%" is %25).`),
  // Requests refused before a route reads them: by Fastify, its router, or Node.js's HTTP parser.
  unsupportedMediaType: (accepted = 'application/json or application/x-ndjson') => new HttpError(415, 'unsupported_media_type',
    `Unsupported Content-Type: send ${accepted}.`),
  emptyBody: () => new HttpError(400, 'empty_body', 'The request body is empty.'),
  invalidContentLength: () => new HttpError(400, 'invalid_content_length', 'Content-Length does not match the body received.'),
  invalidContentType: () => new HttpError(400, 'invalid_content_type', 'The Content-Type header is invalid.'),
  invalidJson: (problem: string) => new HttpError(400, 'invalid_json', `The body is not valid JSON: ${problem}`),
  invalidProtobuf: (problem: string, message = 'ExportLogsServiceRequest') => new HttpError(400, 'invalid_protobuf',
    `The body is not a protobuf ${message}: ${problem}. Nothing was stored.`),
  invalidCompressedBody: (problem: string) => new HttpError(400, 'invalid_compressed_body', `The body could not be decompressed: ${problem}`),
  invalidRequest: (context: string, problem: string, details?: unknown) => new HttpError(400, 'invalid_request',
    `Invalid ${context}: ${problem}`, { details }),
  badRequest: (statusCode: number, message: string) => new HttpError(statusCode, 'bad_request', message),
  internalError: () => new HttpError(500, 'internal_error', 'Internal server error.'),
  routeNotFound: (method: string, path: string) => new HttpError(404, 'route_not_found', `No route ${method} ${path}.`),
  malformedUrl: () => new HttpError(400, 'malformed_url', 'The URL is malformed.'),
  uriTooLong: () => new HttpError(414, 'uri_too_long', 'A path segment of the URL is too long.'),
  requestTimeout: () => new HttpError(408, 'request_timeout', 'The request took too long to arrive.'),
  headersTooLarge: () => new HttpError(431, 'headers_too_large', 'The request headers are too large.'),
  malformedHttpRequest: () => new HttpError(400, 'malformed_http_request', 'The HTTP request is malformed.'),
  unsupportedContentEncoding: (encoding: string) => new HttpError(415, 'unsupported_content_encoding',
    `Unsupported Content-Encoding "${encoding}": send gzip, deflate or an uncompressed body.`),
  rateLimited: (max: number, after: string, retryAfterSeconds: number) => new HttpError(429, 'rate_limited',
    `This client has made more than ${max} requests in the current window; retry in ${after}.`,
    { details: { limit: max, retry_after_seconds: retryAfterSeconds } }),
  forgedAddress: () => new HttpError(400, 'invalid_forwarded_for',
    'X-Forwarded-For names something that is not an IP address where the client\'s address should be.'),
  tooManyEntries: (limit: number) => new HttpError(413, 'too_many_entries',
    `A request may hold at most ${limit} log entries; this one holds more (counting stopped there, nothing was read past it).`,
    { details: { limit } }),
  tooManyFields: (limit: number) => new HttpError(413, 'too_many_fields',
    `A JSON body may hold at most ${limit} fields and array items, counted at every depth; this one holds more.`,
    { details: { limit } }),
  ingestRateLimited: (entries: number, limit: number, used: number, retryAfterSeconds: number) => new HttpError(429, 'ingest_rate_limited',
    `This client may send ${limit} log entries per minute; ${used} are sent this minute, and these ${entries} would go over. ` +
    `Nothing was stored; retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { limit, used, entries, retry_after_seconds: retryAfterSeconds } }),
  batchOverIngestLimit: (entries: number, limit: number) => new HttpError(413, 'batch_over_ingest_limit',
    `This client may send ${limit} log entries per minute, and this request holds ${entries}: it could never be accepted. ` +
    'Send smaller batches.', { details: { limit, entries } }),
  ingestBytesRateLimited: (bytes: number, limit: number, used: number, retryAfterSeconds: number) => new HttpError(429, 'ingest_bytes_rate_limited',
    `This client may send ${formatBytes(limit)} of log entries per minute (counted as stored: text fields and attributes); ` +
    `${used} bytes are sent this minute, and these ${bytes} would go over. Nothing was stored; retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { limit_bytes: limit, used_bytes: used, bytes, retry_after_seconds: retryAfterSeconds } }),
  batchOverIngestBytesLimit: (bytes: number, limit: number) => new HttpError(413, 'batch_over_ingest_bytes_limit',
    `This client may send ${formatBytes(limit)} of log entries per minute (counted as stored: text fields and attributes), ` +
    `and the entries of this request count ${bytes} bytes: it could never be accepted. Send smaller batches.`,
    { details: { limit_bytes: limit, bytes } }),
  storageQuotaExceeded: (stored: number, quota: number) => new HttpError(403, 'storage_quota_exceeded',
    `This client stores ${stored} bytes of logs, and its storage quota is ${formatBytes(quota)}: no more logs are accepted ` +
    'until the quota is raised or logs are deleted, so retrying will not help. Nothing was stored.',
    { details: { quota_bytes: quota, stored_bytes: stored } }),
  bodyTooLarge: (limit: number) => new HttpError(413, 'payload_too_large',
    `The request body exceeds the limit of ${limit} bytes (${formatBytes(limit)}), counted after decompression.`,
    { details: { limit_bytes: limit } }),
  tooManyBuckets: (span: string, interval: string, buckets: number, limit: number, fitting: string | undefined) => new HttpError(400, 'too_many_buckets',
    `${span} by ${interval} is ${buckets.toLocaleString('en-US')} buckets, more than ${limit.toLocaleString('en-US')}: ` +
    `${fitting === undefined ? 'narrow from/to' : `use interval=${fitting} or narrow from/to`}.`,
    { details: { buckets, limit, interval, ...(fitting === undefined ? {} : { fitting_interval: fitting }) } }),
  invalidCursor: (why: string) => new HttpError(400, 'invalid_cursor', `The cursor is not valid: ${why}.`),
  tooManyQueries: (limit: number) => new HttpError(429, 'too_many_queries',
    `This client may run ${limit} ${limit === 1 ? 'query' : 'queries'} at once, and that many are running: ` +
    'wait for an answer before sending the next query. Retry in 1 s.',
    { headers: { 'retry-after': '1' }, details: { limit, retry_after_seconds: 1 } }),
  tooManyTails: (limit: number, retryAfterSeconds: number) => new HttpError(429, 'too_many_tails',
    `This client has ${limit} live ${limit === 1 ? 'tail' : 'tails'} open on this instance, the most allowed: close one ` +
    `before opening another; retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { limit, retry_after_seconds: retryAfterSeconds } }),
  explorerNotBuilt: () => new HttpError(503, 'explorer_not_built',
    'The explorer page is not built: run npm run build:explorer (npm ci and npm run build run it), then restart the service.'),
  tailUnavailable: (retryAfterSeconds: number) => new HttpError(503, 'tail_unavailable',
    `New logs cannot be heard from the database right now, so a tail would miss them; retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { retry_after_seconds: retryAfterSeconds } }),
  queryTimeout: (timeoutMs: number, retryAfterSeconds: number) => new HttpError(503, 'query_timeout',
    `The query ran for ${timeoutMs} ms, the longest allowed, and was stopped. Narrow it (a shorter time range ` +
    `with from and to, more filters, a more specific q) before retrying; retry in ${retryAfterSeconds} s at the earliest.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { timeout_ms: timeoutMs, retry_after_seconds: retryAfterSeconds } }),
  queriesBusy: (retryAfterSeconds: number) => new HttpError(503, 'queries_busy',
    'Every database connection for queries is taken by other queries; this one did not start. ' +
    `Retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { retry_after_seconds: retryAfterSeconds } }),
  // Nobody reads this answer; it names, in the service's log and the client's usage, what happened to the request.
  clientClosedRequest: () => new HttpError(499, 'client_closed_request',
    'The client closed the connection before the answer; its query was cancelled.'),
  tooManyBodyBytes: (scope: 'address' | 'service', limit: number, retryAfterSeconds: number) => new HttpError(503, 'too_many_body_bytes',
    `${scope === 'address' ? 'Requests from this address hold' : 'Requests hold'} ${limit} bytes (${formatBytes(limit)}) of bodies ` +
    `still being received or handled, the most ${scope === 'address' ? 'one address' : 'the service'} may; nothing was stored. ` +
    `Retry in ${retryAfterSeconds} s.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { scope, limit_bytes: limit, retry_after_seconds: retryAfterSeconds } }),
  tooManyConnections: (scope: 'address' | 'service', limit: number, retryAfterSeconds: number) => new HttpError(503, 'too_many_connections',
    `${scope === 'address' ? 'This address has' : 'The service has'} ${limit} connections open, the most ` +
    `${scope === 'address' ? 'one address' : 'it'} may; this one is closed. Retry in ${retryAfterSeconds} s, or reuse a connection.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { scope, limit, retry_after_seconds: retryAfterSeconds } }),
  writeTimeout: (timeoutMs: number, retryAfterSeconds: number) => new HttpError(503, 'write_timeout',
    `The database did not confirm the write within ${timeoutMs} ms. The entries may still be stored: retry after ` +
    `${retryAfterSeconds} s, with the same event_id to store each entry once.`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { timeout_ms: timeoutMs, retry_after_seconds: retryAfterSeconds } }),
  overloaded: (reason: PressureReason, retryAfterSeconds: number) => new HttpError(503, 'overloaded',
    `This instance is overloaded (${OVERLOAD_CAUSES[reason]}); nothing was done. Retry in ${retryAfterSeconds} s, ` +
    'at this instance or another.',
    { headers: { 'retry-after': String(retryAfterSeconds) }, details: { reason, retry_after_seconds: retryAfterSeconds } }),
  invalidMetricsToken: () => new HttpError(401, 'invalid_metrics_token',
    'GET /metrics needs the metrics token, as Authorization: Bearer <METRICS_TOKEN>.',
    { headers: { 'www-authenticate': 'Bearer realm="central-logger metrics"' } }),
  databaseUnavailable: (retryAfterSeconds: number) => new HttpError(503, 'database_unavailable',
    'The database is unreachable or refuses writes right now; nothing was stored. Retry later.',
    { headers: { 'retry-after': String(retryAfterSeconds) } })
}
