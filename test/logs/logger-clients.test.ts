// Application loggers sending to POST /api/v1/logs over a real socket, each
// configured as its own documentation says, with our key: winston's Http
// transport, pino through pino-http-send (JSON and NDJSON), and Python's
// logging.handlers.HTTPHandler in a real python3. What they send is read back
// through GET /api/v1/logs; refusals reach them in the shape they report.
import { spawn, spawnSync } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { createWriteStream } from 'pino-http-send'
import t, { type Test } from 'tap'
import winston from 'winston'
import { setClientLimits } from '../../src/clients/settings.ts'
import { revokeKey } from '../../src/keys/lifecycle.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { EVERY_CLIENT } from '../../src/provider/every-client.ts'
import { buildTestApp, countLogs, issueKey, loopbackPort, postLogs, type IssuedKey } from '../helper.ts'

interface Listening { app: FastifyInstance, port: number, base: string, statuses: number[], contentTypes: Array<string | undefined> }

/** The app on a real socket, and every status it answered POST /api/v1/logs with. */
async function listening (t: Test): Promise<Listening> {
  // One minute of ingest for the whole test, so that a client's used-up minute cannot end midway.
  const { app } = await buildTestApp(t, {}, { ingestClock: () => 1_800_000_000_000 })
  const statuses: number[] = []
  const contentTypes: Array<string | undefined> = []
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST' || request.url?.startsWith('/api/v1/logs') !== true) return
    contentTypes.push(request.headers['content-type'])
    response.on('finish', () => { statuses.push(response.statusCode) })
  })
  const port = await loopbackPort(app)
  return { app, port, base: `http://127.0.0.1:${port}`, statuses, contentTypes }
}

/** A client with defaults for environment and status, as a logger's lines carry neither. */
async function tenant (app: FastifyInstance, name: string): Promise<IssuedKey> {
  const key = await issueKey(app, name)
  await setClientLimits(app.db, key.clientId, { defaultEnvironment: 'production', defaultStatus: 'OK' }, { actor: 'cli:test' })
  return key
}

async function listLogs (app: FastifyInstance, apiKey: string): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc', headers: { 'x-api-key': apiKey } })
  return res.json<{ data: StoredLogBody[] }>().data
}

async function until (what: string, done: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!await done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Refused keys and limits: a revoked key (401), a read-only one (403), a client over its ingest limit (429). */
async function refusals (app: FastifyInstance): Promise<Array<[string, string, number]>> {
  const revoked = await issueKey(app, 'acme')
  await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  const limited = await tenant(app, 'initech')
  await setClientLimits(app.db, limited.clientId, { ingestRateLimit: 2 }, { actor: 'cli:test' })
  // The client's minute used up before the logger sends.
  const used = await postLogs(app, limited.apiKey, [{ time: 1, msg: 'a' }, { time: 2, msg: 'b' }])
  if (used.statusCode !== 201) throw new Error(`using up the minute answered ${used.statusCode}`)
  return [['revoked', revoked.apiKey, 401], ['read-only', readOnly.apiKey, 403], ['over its ingest limit', limited.apiKey, 429]]
}

function winstonLogger (port: number, apiKey: string): { logger: winston.Logger, http: InstanceType<typeof winston.transports.Http>, warnings: Error[], logged: () => number } {
  const http = new winston.transports.Http({ host: '127.0.0.1', port, path: '/api/v1/logs?success_status=200', headers: { 'x-api-key': apiKey } })
  const warnings: Error[] = []
  let logged = 0
  http.on('warn', (error: Error) => { warnings.push(error) })
  http.on('logged', () => { logged++ })
  const logger = winston.createLogger({ level: 'silly', format: winston.format.timestamp(), transports: [http] })
  return { logger, http, warnings, logged: () => logged }
}

void t.test('winston: the Http transport\'s logs are stored with mapped levels, and it sees every one succeed', async (t) => {
  const { app, port } = await listening(t)
  const a = await tenant(app, 'acme')
  const b = await tenant(app, 'globex')
  const { logger, warnings, logged } = winstonLogger(port, a.apiKey)
  logger.info('server started', { port: 8080 })
  logger.http('GET /health 200')
  logger.verbose('cache warmed')
  logger.silly('tick')
  logger.error('disk full', { workflow_id: 'nightly', status: 'failure' })
  await until('five logged', () => logged() === 5 || warnings.length > 0)
  t.same(warnings, [], 'the transport emitted no warning: every answer was 200')

  const logs = await listLogs(app, a.apiKey)
  t.same(logs.map((log) => [log.message, log.level, log.attributes?.level_original ?? null]).sort(), [
    ['GET /health 200', 'debug', 'http'],
    ['cache warmed', 'debug', 'verbose'],
    ['disk full', 'error', null],
    ['server started', 'info', null],
    ['tick', 'trace', 'silly']
  ], 'levels mapped, the npm name kept where the level does not say it')
  t.match(logs.find((log) => log.message === 'server started'), { environment: 'production', status: 'OK', attributes: { port: 8080 } })
  t.match(logs.find((log) => log.message === 'disk full'), { workflow_id: 'nightly', status: 'FAILURE' })
  t.ok(logs.every((log) => Math.abs(Date.parse(log.executed_at) - Date.now()) < 60_000), 'winston\'s timestamp is executed_at')
  t.same(await listLogs(app, b.apiKey), [], 'tenant B sees none of them')
})

void t.test('winston: the Http transport\'s batches are stored too', async (t) => {
  const { app, port, statuses } = await listening(t)
  const a = await tenant(app, 'acme')
  const http = new winston.transports.Http({ host: '127.0.0.1', port, path: '/api/v1/logs?success_status=200', auth: { bearer: a.apiKey }, batch: true, batchCount: 2 })
  const warnings: Error[] = []
  http.on('warn', (error: Error) => { warnings.push(error) })
  const logger = winston.createLogger({ format: winston.format.timestamp(), transports: [http] })
  logger.warn('first of a batch')
  logger.info('second of a batch')
  await until('the batch', async () => await countLogs(app) === 2)
  await until('its answer', () => statuses.length === 1)
  t.same(statuses, [200], 'one request, answered 200')
  t.same(warnings, [])
  t.same((await listLogs(app, a.apiKey)).map((log) => log.level).sort(), ['info', 'warn'])
})

void t.test('winston: refusals reach the transport as its warnings, and store nothing', async (t) => {
  const { app, port } = await listening(t)
  for (const [who, apiKey, status] of await refusals(app)) {
    const before = await countLogs(app)
    const { logger, warnings } = winstonLogger(port, apiKey)
    logger.info('first')
    logger.info('second')
    await until(`${who}: warnings`, () => warnings.length >= 2)
    t.same(warnings.map((warning) => warning.message), [1, 2].map(() => `Invalid HTTP Status Code: ${status}`), `${who}: winston reports ${status}`)
    t.equal(await countLogs(app), before, `${who}: nothing stored`)
  }
})

/** A pino logger writing through pino-http-send, as its README sets one up; what it prints about failures is collected. */
function pinoLogger (t: Test, base: string, apiKey: string, bodyType: 'json' | 'ndjson'): { logger: pino.Logger, printed: string[] } {
  const printed: string[] = []
  // pino-http-send reports a failed send on the console; the test reads what it says.
  const { error, warn } = console
  console.error = (...args: unknown[]) => { printed.push(args.map(String).join(' ')) }
  console.warn = console.error
  t.teardown(() => { console.error = error; console.warn = warn })
  const stream = createWriteStream({ url: `${base}/api/v1/logs`, headers: { 'x-api-key': apiKey }, bodyType, batchSize: 3, timeout: 50, retries: 0, silent: false })
  return { logger: pino({ level: 'trace', base: { hostname: 'web-1' } }, stream), printed }
}

for (const bodyType of ['json', 'ndjson'] as const) {
  void t.test(`pino-http-send (${bodyType}): pino's numeric levels, time and msg are mapped`, async (t) => {
    const { app, base, statuses, contentTypes } = await listening(t)
    const a = await tenant(app, 'acme')
    const { logger, printed } = pinoLogger(t, base, a.apiKey, bodyType)
    logger.info({ run_id: 'run-1' }, 'job started')
    logger.warn('slow query')
    logger.trace('entering')
    logger.fatal(new Error('out of memory'), 'crashed')
    await until('four logs', async () => await countLogs(app) === 4)
    // How the four are split into batches depends on its 50 ms timer, and so on the machine's load.
    t.ok(statuses.length > 0 && statuses.every((status) => status === 201), 'every batch it sent was answered 201')
    t.same(contentTypes, statuses.map(() => bodyType === 'json' ? 'application/json' : undefined),
      bodyType === 'json' ? 'sent as {"logs": [...]}' : 'NDJSON is sent without a Content-Type')
    t.same(printed, [], 'pino-http-send reported no failure')
    const logs = await listLogs(app, a.apiKey)
    t.same(logs.map((log) => [log.message, log.level]).sort(), [['crashed', 'fatal'], ['entering', 'trace'], ['job started', 'info'], ['slow query', 'warn']])
    const started = logs.find((log) => log.message === 'job started')
    t.match(started, { run_id: 'run-1', environment: 'production', status: 'OK', attributes: { hostname: 'web-1' } })
    t.notOk('level_original' in (started?.attributes ?? {}), 'pino\'s standard numbers are said exactly')
    t.match(logs.find((log) => log.message === 'crashed')?.attributes, { err: { message: 'out of memory', type: 'Error' } })
    t.ok(logs.every((log) => Math.abs(Date.parse(log.executed_at) - Date.now()) < 60_000), 'pino\'s time is executed_at')
  })
}

void t.test('pino-http-send: refusals are reported on the console, and store nothing', async (t) => {
  const { app, base } = await listening(t)
  for (const [who, apiKey, status] of await refusals(app)) {
    const before = await countLogs(app)
    const { logger, printed } = pinoLogger(t, base, apiKey, 'json')
    logger.info('one')
    logger.info('two')
    await until(`${who}: a report`, () => printed.some((line) => line.includes('dropping logs')))
    t.match(printed.join('\n'), new RegExp(`Response code ${status}`), `${who}: pino-http-send reports ${status}`)
    t.equal(await countLogs(app), before, `${who}: nothing stored`)
  }
})

const PYTHON = ['python3', '/root/.pyenv/shims/python3'].find((command) => spawnSync(command, ['--version']).status === 0)
/** Why the Python tests are skipped, or false: they run Python's own logging.handlers.HTTPHandler. */
const NO_PYTHON = PYTHON === undefined ? 'python3 not found: these tests run Python\'s own logging.handlers.HTTPHandler' : false

/** A Python program logging through HTTPHandler to the service; `formatted` sends the formatted message too. */
function pythonScript (port: number, apiKey: string, formatted: boolean): string {
  return `
import logging, logging.handlers

class Handler(logging.handlers.HTTPHandler):
    def mapLogRecord(self, record):
        return {**record.__dict__, "message": record.getMessage()}

cls = Handler if ${formatted ? 'True' : 'False'} else logging.handlers.HTTPHandler
handler = cls("127.0.0.1:${port}", "/api/v1/logs", method="POST", credentials=("logs", "${apiKey}"))
log = logging.getLogger("etl")
log.setLevel(logging.DEBUG)
log.addHandler(handler)
log.warning("loaded %d rows into %s", 12, "sales")
log.critical("disk full", extra={"workflow_id": "nightly"})
log.debug("détail")
`
}

async function runPython (script: string): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(PYTHON!, ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve) })
  return { code, stderr }
}

void t.test('Python HTTPHandler: a LogRecord, form-encoded, is a log', { skip: NO_PYTHON }, async (t) => {
  const { app, port } = await listening(t)
  const a = await tenant(app, 'acme')
  const b = await tenant(app, 'globex')
  const plain = await runPython(pythonScript(port, a.apiKey, false))
  t.equal(plain.code, 0, plain.stderr)
  t.equal(plain.stderr, '', 'the handler reported no error')
  const logs = await listLogs(app, a.apiKey)
  t.equal(logs.length, 3)
  t.same(logs.map((log) => [log.level, log.message]).sort(), [['debug', 'détail'], ['fatal', 'disk full'], ['warn', 'loaded %d rows into %s']])
  const loaded = logs.find((log) => log.level === 'warn')
  t.match(loaded, {
    environment: 'production',
    status: 'OK',
    attributes: { name: 'etl', args: "(12, 'sales')", level_original: 'WARNING', levelno: '30', funcName: '<module>' }
  })
  t.ok(Math.abs(Date.parse(loaded!.executed_at) - Date.now()) < 60_000, 'created is executed_at')
  t.match(logs.find((log) => log.level === 'fatal'), { workflow_id: 'nightly' })

  const formatted = await runPython(pythonScript(port, b.apiKey, true))
  t.equal(formatted.code, 0, formatted.stderr)
  const bLogs = await listLogs(app, b.apiKey)
  t.match(bLogs.find((log) => log.level === 'warn'), { message: 'loaded 12 rows into sales', attributes: { msg: 'loaded %d rows into %s' } })
  t.equal((await listLogs(app, a.apiKey)).length, 3, 'each tenant sees its own')
})

void t.test('Python HTTPHandler: refused requests store nothing (the handler ignores answers)', { skip: NO_PYTHON }, async (t) => {
  const { app, port, statuses } = await listening(t)
  for (const [who, apiKey, status] of await refusals(app)) {
    statuses.length = 0
    const before = await countLogs(app)
    const run = await runPython(pythonScript(port, apiKey, false))
    t.equal(run.code, 0, `${who}: the program goes on`)
    t.equal(statuses[statuses.length - 1], status, `${who}: answered ${status}`)
    t.equal(await countLogs(app), before, `${who}: nothing stored`)
  }
})
