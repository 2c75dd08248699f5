// The OpenTelemetry SDK's own exporters against the service on a real
// socket, configured as their documentation says (url, the key in headers):
// OTLP/HTTP in JSON (@opentelemetry/exporter-logs-otlp-http) and in
// protobuf (@opentelemetry/exporter-logs-otlp-proto). What they ship is read
// back through GET /api/v1/logs; refusals reach them in a shape they act on:
// retried for 429 and 503, reported for other 4xx.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { SeverityNumber } from '@opentelemetry/api-logs'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { revokeKey } from '../../src/keys/lifecycle.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { EVERY_CLIENT } from '../../src/provider/every-client.ts'
import { buildTestApp, countLogs, issueKey, loopbackPort } from '../helper.ts'

type ExporterKind = 'json' | 'protobuf'
const KINDS: ExporterKind[] = ['json', 'protobuf']

function exporterFor (kind: ExporterKind, base: string, apiKey: string, timeoutMillis?: number): LogRecordExporter {
  const config = { url: `${base}/v1/logs`, headers: { 'X-API-Key': apiKey }, ...(timeoutMillis === undefined ? {} : { timeoutMillis }) }
  return kind === 'json' ? new JsonLogExporter(config) : new ProtoLogExporter(config)
}

/** The app on a real socket, and every status it answered /v1/logs with. */
async function listening (t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance, base: string, statuses: number[] }> {
  const { app } = await buildTestApp(t, env)
  const statuses: number[] = []
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/v1/logs') response.on('finish', () => { statuses.push(response.statusCode) })
  })
  return { app, base: `http://127.0.0.1:${await loopbackPort(app)}`, statuses }
}

async function listLogs (app: FastifyInstance, apiKey: string): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc', headers: { 'x-api-key': apiKey } })
  return res.json<{ data: StoredLogBody[] }>().data
}

/** Log records as the SDK makes them, to hand to an exporter directly and see its result. */
function sdkRecords (messages: string[]): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter()
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] })
  const logger = provider.getLogger('test')
  for (const body of messages) logger.emit({ body, severityNumber: SeverityNumber.INFO })
  return memory.getFinishedLogRecords()
}

async function exportWith (exporter: LogRecordExporter, records: ReadableLogRecord[]): Promise<ExportResult> {
  return await new Promise((resolve) => { exporter.export(records, resolve) })
}

for (const kind of KINDS) {
  void t.test(`${kind}: the SDK's logs are stored with their fields, and only the sender's tenant sees them`, async (t) => {
    const { app, base } = await listening(t)
    const a = await issueKey(app, 'acme')
    const b = await issueKey(app, 'globex')
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'etl-runner', 'deployment.environment.name': 'production' }),
      processors: [new BatchLogRecordProcessor({ exporter: exporterFor(kind, base, a.apiKey) })]
    })
    const logger = provider.getLogger('nightly', '1.0.0')
    const at = new Date('2026-11-20T10:00:00.123Z')
    logger.emit({
      timestamp: at,
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: `load failed via ${kind}`,
      attributes: { workflow_id: 'nightly-etl', run_id: 'run-1', step: 'load', status: 'failure', duration_ms: 1500, 'log.record.uid': `uid-${kind}`, rows: 12 }
    })
    logger.emit({ timestamp: at, severityNumber: SeverityNumber.WARN, body: { structured: true, count: 2 } })
    logger.emit({ severityText: 'debug', body: `no time via ${kind}` })
    await provider.forceFlush()
    await provider.shutdown()

    const logs = await listLogs(app, a.apiKey)
    t.equal(logs.length, 3)
    t.match(logs.find((log) => log.message === `load failed via ${kind}`), {
      environment: 'production',
      workflow_name: 'etl-runner',
      executed_at: at.toISOString(),
      level: 'error',
      status: 'FAILURE',
      workflow_id: 'nightly-etl',
      run_id: 'run-1',
      step: 'load',
      duration_ms: 1500,
      event_id: `uid-${kind}`,
      attributes: { rows: 12, 'otel.scope.name': 'nightly', 'otel.scope.version': '1.0.0' }
    })
    t.match(logs.find((log) => log.level === 'warn'), { message: '{"structured":true,"count":2}', status: 'UNKNOWN' })
    const noTime = logs.find((log) => log.message === `no time via ${kind}`)
    t.equal(noTime?.level, 'debug', 'severityText when there is no severityNumber')
    t.ok(noTime !== undefined && Math.abs(Date.parse(noTime.executed_at) - Date.now()) < 60_000, 'the SDK\'s observed time stands in for a missing time')
    t.same(await listLogs(app, b.apiKey), [], 'tenant B sees none of them')

    // The same record again (a retry): stored once, by its log.record.uid.
    const again = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: exporterFor(kind, base, a.apiKey) })] })
    again.getLogger('nightly').emit({ timestamp: at, body: `load failed via ${kind}`, attributes: { 'log.record.uid': `uid-${kind}` } })
    await again.forceFlush()
    await again.shutdown()
    t.equal(await countLogs(app), 3, 'a replayed log.record.uid is stored once')
  })

  void t.test(`${kind}: a revoked key and a read-only key fail the export at once, not retried`, async (t) => {
    const { app, base, statuses } = await listening(t)
    const revoked = await issueKey(app, 'acme')
    const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
    await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
    for (const [who, key, status] of [['revoked', revoked.apiKey, 401], ['read-only', readOnly.apiKey, 403]] as const) {
      statuses.length = 0
      const result = await exportWith(exporterFor(kind, base, key), sdkRecords([`from a ${who} key`]))
      t.equal(result.code, ExportResultCode.FAILED, `${who}: the export fails`)
      t.match(result.error, { code: status }, `${who}: the exporter reports ${status}`)
      t.same(statuses, [status], `${who}: one attempt, no retry`)
    }
    t.equal(await countLogs(app), 0)
  })

  void t.test(`${kind}: 429 is retried after Retry-After, and then stored`, async (t) => {
    const { app, base, statuses } = await listening(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW: '1s' })
    const { apiKey } = await issueKey(app, 'acme')
    t.equal((await exportWith(exporterFor(kind, base, apiKey), sdkRecords(['first']))).code, ExportResultCode.SUCCESS)
    const second = await exportWith(exporterFor(kind, base, apiKey, 8000), sdkRecords(['second']))
    t.equal(second.code, ExportResultCode.SUCCESS, 'the exporter retried and succeeded')
    t.ok(statuses.includes(429), `a 429 was answered on the way (${statuses.join(', ')})`)
    t.equal(statuses.at(-1), 200)
    // The listing is a request too: past the window, so that it is not the one limited.
    await sleep(1100)
    t.same((await listLogs(app, apiKey)).map((log) => log.message), ['first', 'second'])
  })

  void t.test(`${kind}: a client over its ingest limit gets 429 with Retry-After, and nothing is stored`, async (t) => {
    const { app, base, statuses } = await listening(t, { INGEST_RATE_LIMIT: '2' })
    const { apiKey } = await issueKey(app, 'acme')
    t.equal((await exportWith(exporterFor(kind, base, apiKey), sdkRecords(['one', 'two']))).code, ExportResultCode.SUCCESS)
    statuses.length = 0
    // Retry-After points at the next minute, past this export's timeout: the exporter gives up rather than wait.
    const over = await exportWith(exporterFor(kind, base, apiKey, 500), sdkRecords(['three']))
    t.equal(over.code, ExportResultCode.FAILED)
    t.equal(statuses[0], 429)
    t.equal(await countLogs(app), 2)
  })
}
