// Generated hostile OTLP requests, seeded: valid protobuf bodies cut short,
// bit-flipped and spliced, random bytes, JSON of the wrong shape, and records
// holding what PostgreSQL cannot store. Whatever the body, the answer is 200
// or a 4xx (never a 5xx), and only well-formed records are stored.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { encodeRequest } from '../../src/otlp/proto.ts'
import { mutateBytes } from '../hostile/mutate-bytes.ts'
import { Prng } from '../hostile/prng.ts'
import { buildTestApp, countLogs, issueKey } from '../helper.ts'

const CASES = 300

function validRequest (prng: Prng, records: number): Record<string, unknown> {
  return {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeLogs: [{
        scope: { name: 'scope' },
        logRecords: Array.from({ length: records }, (_, i) => ({
          timeUnixNano: String(1795000000000000000 + prng.int(0, 1_000_000) * 1000),
          severityNumber: prng.int(0, 24),
          body: { stringValue: `record ${i}` },
          traceId: Buffer.from(prng.string(16, '0123456789abcdef'), 'utf8').subarray(0, 16),
          attributes: [
            { key: 'run_id', value: { stringValue: `run-${prng.int(0, 99)}` } },
            { key: 'n', value: { intValue: prng.int(0, 1000) } },
            { key: 'nested', value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ doubleValue: 1.5 }, { boolValue: true }] } } }] } } }
          ]
        }))
      }]
    }]
  }
}

const HOSTILE_TEXTS = ['\u0000', 'a\ud800b', '\udfff', 'x'.repeat(70_000), '']
const HOSTILE_JSON: unknown[] = [
  [], 'text', 42, null, { resourceLogs: {} }, { resourceLogs: [null] }, { resourceLogs: [{ scopeLogs: 'x' }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [1, 2] }] }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ value: { stringValue: 'no key' } }] }] }] }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: 12 }] }] }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '-5' }] }] }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '99999999999999999999999' }] }] }] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { intValue: '1e5' } }] }] }] },
  { __proto__: { polluted: true }, resourceLogs: [] },
  { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { arrayValue: { values: 'x' } } }] }] }] }
]

async function send (app: FastifyInstance, apiKey: string, contentType: string, payload: string | Buffer): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': contentType, 'x-api-key': apiKey }, payload })
}

void t.test('mutated protobuf bodies: 200 or 400, never a 5xx', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const prng = new Prng(0x07e1)
  const statuses = new Map<number, number>()
  for (let i = 0; i < CASES; i++) {
    const res = await send(app, apiKey, 'application/x-protobuf', mutateBytes(prng, encodeRequest(validRequest(prng, prng.int(1, 5)))))
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode !== 200 && res.statusCode !== 400) t.fail(`case ${i}: answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, 'both outcomes met')
  t.pass(`${CASES} cases`)
})

void t.test('JSON of the wrong shape: 400, nothing stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  for (const body of HOSTILE_JSON) {
    const res = await send(app, apiKey, 'application/json', JSON.stringify(body))
    t.ok(res.statusCode === 400 || (res.statusCode === 200 && res.body === '{}'), `${JSON.stringify(body).slice(0, 80)}: ${res.statusCode} ${res.body.slice(0, 120)}`)
  }
  t.equal(await countLogs(app), 0)
})

void t.test('values PostgreSQL cannot hold are refused record by record, the rest stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const prng = new Prng(0xbad)
  let expected = 0
  for (const text of HOSTILE_TEXTS) {
    for (const place of ['body', 'attribute key', 'attribute value', 'resource', 'severityText', 'status'] as const) {
      const request = validRequest(prng, 2) as { resourceLogs: Array<{ resource: { attributes: unknown[] }, scopeLogs: Array<{ logRecords: Array<Record<string, unknown> & { attributes: unknown[] }> }> }> }
      const record = request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!
      if (place === 'body') record.body = { stringValue: text }
      if (place === 'attribute key') record.attributes.push({ key: text, value: { stringValue: 'v' } })
      if (place === 'attribute value') record.attributes.push({ key: 'k', value: { stringValue: text } })
      if (place === 'resource') request.resourceLogs[0]!.resource.attributes.push({ key: 'deployment.environment.name', value: { stringValue: text } })
      if (place === 'severityText') record.severityText = text
      if (place === 'status') record.attributes.push({ key: 'status', value: { stringValue: text } })
      for (const encoding of ['json', 'protobuf'] as const) {
        // Lone surrogates cannot be written as UTF-8: in protobuf they arrive as U+FFFD, which is stored.
        const res = encoding === 'json'
          ? await send(app, apiKey, 'application/json', JSON.stringify(request))
          : await send(app, apiKey, 'application/x-protobuf', encodeRequest(request))
        t.ok(res.statusCode === 200 || res.statusCode === 400, `${JSON.stringify(text.slice(0, 8))} in ${place} (${encoding}): ${res.statusCode}`)
        if (res.statusCode !== 200) continue
        const answer = encoding === 'json' ? res.json<{ partialSuccess?: { rejectedLogRecords: string } }>() : undefined
        const rejected = encoding === 'json' ? Number(answer?.partialSuccess?.rejectedLogRecords ?? 0) : undefined
        if (rejected !== undefined) t.ok(rejected <= 2, 'at most the records sent are refused')
        expected = await countLogs(app)
      }
    }
  }
  t.ok(expected > 0, 'the good records were stored')
  const rows = await app.db.selectFrom('logs').select(['message', 'environment']).execute()
  t.ok(rows.every((row) => !(row.message ?? '').includes('\u0000') && !row.environment.includes('\u0000')), 'no NUL stored')
})
