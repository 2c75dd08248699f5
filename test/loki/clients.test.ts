// Real Loki clients against the service on a real socket, configured as their
// documentation says, with the key as the Basic password: pino-loki (JSON)
// and winston-loki (Snappy protobuf by default, JSON with `json: true`). What
// they ship is read back through GET /api/v1/logs; refusals reach them in the
// shape they report: pino-loki prints the answer's body with console.error,
// winston-loki hands an error with statusCode and responseBody to
// onConnectionError (and keeps the batch for its next attempt).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { pinoLoki } from 'pino-loki'
import t, { type Test } from 'tap'
import winston from 'winston'
import LokiTransport from 'winston-loki'
import { revokeKey } from '../../src/keys/lifecycle.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { EVERY_CLIENT } from '../../src/provider/every-client.ts'
import { buildTestApp, countLogs, issueKey, loopbackPort } from '../helper.ts'

const PUSH = '/loki/api/v1/push'

interface Answer { status: number, contentType: string | undefined, retryAfter: string | undefined }

/** The app on a real socket, and every answer it gave the push route. */
async function listening (t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, host: string, answers: Answer[] }> {
  const { app } = await buildTestApp(t, env)
  const answers: Answer[] = []
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url !== PUSH) return
    // Fastify hands its headers to writeHead, where getHeader does not see them: they are read on their way.
    const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse
    response.writeHead = ((status: number, ...rest: unknown[]) => {
      const headers = (rest.find((arg) => typeof arg === 'object' && arg !== null) ?? {}) as Record<string, unknown>
      const header = (name: string): string | undefined => {
        const value = headers[name] ?? response.getHeader(name)
        return value === undefined ? undefined : String(value)
      }
      answers.push({ status, contentType: header('content-type'), retryAfter: header('retry-after') })
      return writeHead(status, ...rest)
    }) as typeof response.writeHead
  })
  return { app, host: `http://127.0.0.1:${await loopbackPort(app)}`, answers }
}

async function listLogs (app: FastifyInstance, apiKey: string): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc', headers: { 'x-api-key': apiKey } })
  return res.json<{ data: StoredLogBody[] }>().data
}

/** Logs through pino-loki in this process (its README's module usage), then ends the transport, which sends what it holds. */
async function withPinoLoki (host: string, apiKey: string, log: (logger: pino.Logger) => void, labels: Record<string, string> = {}): Promise<string[]> {
  const printed: string[] = []
  const printing = console.error
  console.error = (...args: unknown[]) => { printed.push(args.map(String).join(' ')) }
  try {
    const transport = pinoLoki({ host, basicAuth: { username: 'acme', password: apiKey }, labels })
    const logger = pino({ level: 'trace' }, transport)
    log(logger)
    transport.end()
    await once(transport, 'close')
  } finally {
    console.error = printing
  }
  return printed
}

type LokiError = Error & { statusCode?: number, responseBody?: string }

/** Logs through winston-loki, then closes the transport, which sends what it holds; the errors onConnectionError got. */
async function withWinstonLoki (host: string, apiKey: string, json: boolean, log: (logger: winston.Logger) => void): Promise<{ errors: LokiError[], transport: LokiTransport }> {
  const errors: LokiError[] = []
  const transport = new LokiTransport({
    host,
    basicAuth: `acme:${apiKey}`,
    json,
    labels: { app: 'billing', environment: 'staging' },
    format: winston.format.json(),
    // The test closes the transport itself; no exit hook left behind in the test process.
    gracefulShutdown: false,
    onConnectionError: (error) => { errors.push(error as LokiError) }
  })
  const logger = winston.createLogger({ level: 'silly', transports: [transport] })
  log(logger)
  await transport.close()
  return { errors, transport }
}

void t.test('pino-loki: logs stored with their fields over JSON, only the sender\'s tenant sees them, event_id makes a resend harmless', async (t) => {
  const { app, host, answers } = await listening(t)
  const a = await issueKey(app, 'acme')
  const b = await issueKey(app, 'globex')
  const at = Date.parse('2026-11-20T10:00:00.123Z')
  const printed = await withPinoLoki(host, a.apiKey, (logger) => {
    logger.info({ time: at, run_id: 'run-1', status: 'success', workflow_id: 'nightly', meta: { event_id: 'pino-1' } }, 'extract done')
    logger.error({ err: new Error('disk full'), duration_ms: 1500 }, 'load failed')
    logger.warn('careful')
    logger.fatal('gone')
  }, { environment: 'production', job: 'nightly-etl' })
  t.same(printed, [], 'pino-loki reported no error')
  t.ok(answers.length > 0 && answers.every((answer) => answer.status === 204), `answered 204 (${answers.map((answer) => answer.status).join(', ')})`)

  const logs = await listLogs(app, a.apiKey)
  t.equal(logs.length, 4)
  t.match(logs.find((log) => log.message === 'extract done'), {
    environment: 'production',
    workflow_name: 'nightly-etl',
    workflow_id: 'nightly',
    run_id: 'run-1',
    status: 'SUCCESS',
    level: 'info',
    event_id: 'pino-1',
    executed_at: new Date(at).toISOString(),
    attributes: { pid: process.pid, hostname: /./ }
  })
  t.match(logs.find((log) => log.message === 'load failed'), { level: 'error', duration_ms: 1500, status: 'UNKNOWN', attributes: { err: { message: 'disk full', type: 'Error' } } })
  t.match(logs.find((log) => log.message === 'careful'), { level: 'warn' })
  t.match(logs.find((log) => log.message === 'gone'), { level: 'fatal' })
  t.same(await listLogs(app, b.apiKey), [], 'tenant B sees none of them')

  // The same log again (a resend): stored once, by its event_id.
  await withPinoLoki(host, a.apiKey, (logger) => { logger.info({ time: at, meta: { event_id: 'pino-1' } }, 'extract done') })
  t.equal(await countLogs(app), 4)
})

for (const json of [false, true]) {
  const kind = json ? 'JSON' : 'Snappy protobuf'
  void t.test(`winston-loki over ${kind}: logs stored with their fields, only the sender's tenant sees them`, async (t) => {
    const { app, host, answers } = await listening(t)
    const a = await issueKey(app, 'acme')
    const b = await issueKey(app, 'globex')
    const { errors } = await withWinstonLoki(host, a.apiKey, json, (logger) => {
      logger.info('invoice run started', { workflow_id: 'invoices', run_id: 'run-9', event_id: `winston-${kind}` })
      logger.warn('slow customer', { duration_ms: 2300, customer: 'c-17' })
      logger.error('invoice failed', { status: 'failure', step: 'render' })
      logger.verbose('chatty')
    })
    t.same(errors, [], 'onConnectionError was not called')
    t.ok(answers.length > 0 && answers.every((answer) => answer.status === 204), `answered 204 (${answers.map((answer) => answer.status).join(', ')})`)
    const logs = await listLogs(app, a.apiKey)
    t.equal(logs.length, 4)
    t.match(logs.find((log) => log.message === 'invoice run started'), {
      environment: 'staging', workflow_name: 'billing', workflow_id: 'invoices', run_id: 'run-9', level: 'info', event_id: `winston-${kind}`
    })
    t.match(logs.find((log) => log.message === 'slow customer'), { level: 'warn', duration_ms: 2300, attributes: { customer: 'c-17' } })
    t.match(logs.find((log) => log.message === 'invoice failed'), { level: 'error', status: 'FAILURE', step: 'render' })
    t.match(logs.find((log) => log.message === 'chatty'), { level: 'debug' })
    t.ok(logs.every((log) => Date.now() - Date.parse(log.executed_at) < 60_000), 'the time winston-loki gives each log')
    t.same(await listLogs(app, b.apiKey), [], 'tenant B sees none of them')

    // Sent again: the log with an event_id is stored once.
    await withWinstonLoki(host, a.apiKey, json, (logger) => { logger.info('invoice run started', { event_id: `winston-${kind}` }) })
    t.equal(await countLogs(app), 4)
  })
}

void t.test('a revoked key and a read-only key: refused, and each client reports the JSON error', async (t) => {
  const { app, host, answers } = await listening(t)
  const revoked = await issueKey(app, 'acme')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  for (const [who, key, status, code] of [['revoked', revoked.apiKey, 401, 'revoked_api_key'], ['read-only', readOnly.apiKey, 403, 'insufficient_scope']] as const) {
    answers.length = 0
    const printed = await withPinoLoki(host, key, (logger) => { logger.info(`from a ${who} key`) })
    t.equal(printed.length, 1, `${who}: pino-loki printed one error`)
    t.match(printed[0], new RegExp(`"code":"${code}"`), `${who}: with the answer's code`)
    t.same(answers.map((answer) => answer.status), [status], `${who}: pino-loki tried once`)

    for (const json of [false, true]) {
      const { errors, transport } = await withWinstonLoki(host, key, json, (logger) => { logger.info(`from a ${who} key`) })
      t.equal(errors.length, 1, `${who}: winston-loki (${json ? 'JSON' : 'protobuf'}) called onConnectionError`)
      t.equal(errors[0]?.statusCode, status)
      t.match(JSON.parse(errors[0]?.responseBody ?? '{}'), { statusCode: status, code })
      t.equal((transport as unknown as { batcher: { batch: { streams: unknown[] } } }).batcher.batch.streams.length, 1,
        'winston-loki keeps the batch for its next attempt')
    }
  }
  t.ok(answers.every((answer) => answer.contentType?.startsWith('application/json') === true), 'every refusal is the JSON error')
  t.equal(await countLogs(app), 0)
})

void t.test('over the ingest limit: 429 with Retry-After, reported by each client, nothing more stored', async (t) => {
  const { app, host, answers } = await listening(t, { INGEST_RATE_LIMIT: '2' })
  const { apiKey } = await issueKey(app, 'acme')
  t.same(await withPinoLoki(host, apiKey, (logger) => { logger.info('one'); logger.info('two') }), [])
  answers.length = 0
  const printed = await withPinoLoki(host, apiKey, (logger) => { logger.info('three') })
  t.match(printed, [/"code":"ingest_rate_limited"/], 'pino-loki printed the refusal')
  const { errors } = await withWinstonLoki(host, apiKey, false, (logger) => { logger.info('four') })
  t.match(errors, [{ statusCode: 429 }], 'winston-loki called onConnectionError with the 429')
  t.match(JSON.parse(errors[0]?.responseBody ?? '{}'), { code: 'ingest_rate_limited', details: { retry_after_seconds: Number } })
  t.same(answers.map((answer) => answer.status), [429, 429])
  t.ok(answers.every((answer) => /^\d+$/.test(answer.retryAfter ?? '')), 'each 429 carries Retry-After')
  t.equal(await countLogs(app), 2)
})
