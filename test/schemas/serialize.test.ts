import fastJsonStringify from 'fast-json-stringify'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { BatchResult, LogPage, StoredLog } from '../../src/logs/schemas.ts'
import { ErrorResponse } from '../../src/schemas/errors.ts'
import { compileResponse, withNullableTypes } from '../../src/schemas/serialize.ts'

/** What Fastify's own compiler makes of a schema: fast-json-stringify of the schema as written. */
const asWritten = (schema: unknown): ((value: unknown) => string) =>
  (fastJsonStringify as unknown as (schema: unknown, options: unknown) => (value: unknown) => string)(
    JSON.parse(JSON.stringify(schema)), { schema: { ErrorResponse: JSON.parse(JSON.stringify(ErrorResponse)) } })

const stored = {
  id: '01a235c4-7d2c-7533-8b72-2a10dea15d74',
  event_id: null,
  environment: 'production',
  executed_at: '2026-11-26T10:00:00.000Z',
  status: 'SUCCESS',
  level: 'info',
  message: 'step 1 "finished"\n\u2028 after \u00e9\u{1F600} \\ rows',
  workflow_id: 'wf-1',
  workflow_name: null,
  run_id: 'run-1',
  step: null,
  duration_ms: 3.5,
  trace_id: null,
  attributes: null,
  received_at: '2026-12-02T07:59:59.278Z'
}
const variants = [
  stored,
  { ...stored, event_id: 'e-1', workflow_name: 'nightly', step: 'load', trace_id: 'abc', duration_ms: null, message: null },
  { ...stored, attributes: { a: 1, nested: { list: [1, 'two', null, { deep: true }], text: 'x"y' }, empty: {} } },
  { ...stored, attributes: {}, duration_ms: 0 }
]

void t.test('a stored log is written exactly as the schema as written writes it', async (t) => {
  const ours = compileResponse(StoredLog)
  const theirs = asWritten(StoredLog)
  for (const value of variants) {
    t.equal(ours(value), theirs(value))
    t.same(JSON.parse(ours(value)), value)
  }
})

void t.test('a page of logs, and an error, likewise', async (t) => {
  const page = { data: variants, next_cursor: null }
  t.equal(compileResponse(LogPage)(page), asWritten(LogPage)(page))
  t.equal(compileResponse(LogPage)({ ...page, next_cursor: 'abc' }), asWritten(LogPage)({ ...page, next_cursor: 'abc' }))
  const error = { statusCode: 400, error: 'Bad Request', code: 'invalid_entries', message: 'no', details: [{ index: 0, field: 'status' }] }
  t.equal(compileResponse(Type.Ref('ErrorResponse'))(error), asWritten(Type.Ref('ErrorResponse'))(error))
})

void t.test('an answer of two shapes is written in the shape it has', async (t) => {
  const answer = Type.Union([StoredLog, BatchResult])
  const ours = compileResponse(answer)
  const theirs = asWritten(answer)
  const batches = [
    { accepted: 2, duplicates: 1, ids: ['01a235c4-7d2c-7533-8b72-2a10dea15d74', null, '01a235c4-7d2c-7533-8b72-2a10dea15d75'] },
    { accepted: 0, duplicates: 0, ids: [null], rejected: [{ index: 0, field: 'status', code: 'missing_field', message: 'must have status' }, { index: 1, code: 'invalid_json', message: 'line 2' }] }
  ]
  for (const value of [...variants, ...batches]) t.equal(ours(value), theirs(value))
  t.throws(() => ours({ neither: true }), TypeError, 'a value of neither shape is refused, as before')
})

void t.test('a nullable field becomes a list of types; other unions are kept', async (t) => {
  t.same(withNullableTypes({ anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }], description: 'd' }),
    { description: 'd', type: ['string', 'null'], format: 'uuid' })
  t.same(withNullableTypes({ type: 'object', properties: { a: { anyOf: [{ type: 'number' }, { type: 'null' }] } } }),
    { type: 'object', properties: { a: { type: ['number', 'null'] } } })
  const kept = { anyOf: [{ type: 'string' }, { type: 'number' }] }
  t.same(withNullableTypes(kept), kept)
})
