import t from 'tap'
import { timeOf, toEntry } from '../../src/elastic/document.ts'
import { RefusedEntry } from '../../src/logs/validate.ts'

void t.test('times as Elasticsearch reads them by default', async (t) => {
  const cases: Array<[unknown, string]> = [
    ['2026-11-20T10:00:00Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:00:00.123456789Z', '2026-11-20T10:00:00.123Z'],
    ['2026-11-20T12:00:00+02:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T12:00:00+0200', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:00:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20 10:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20', '2026-11-20T00:00:00.000Z'],
    [1795169400000, '2026-11-20T10:10:00.000Z'],
    ['1795169400000', '2026-11-20T10:10:00.000Z']
  ]
  for (const [value, iso] of cases) t.equal(timeOf(value)?.toISOString(), iso, String(value))
  for (const value of ['yesterday', '2026-02-31', '2026-13-01', '2026-11-20T25:00:00Z', '', null, true, {}, Number.NaN, 1e20]) {
    t.equal(timeOf(value), undefined, `${JSON.stringify(value)} is no time`)
  }
})

void t.test('a document\'s mapped fields of the wrong type are refused naming the field', async (t) => {
  const target = { index: 'a', id: undefined }
  const defaults = { environment: null, status: null }
  for (const [document, field] of [
    [{ message: ['a'] }, 'message'], [{ service: { name: 3 } }, 'service.name'], [{ 'trace.id': {} }, 'trace.id'],
    [{ environment: 1 }, 'environment'], [{ event: { outcome: false } }, 'event.outcome'], [{ '@timestamp': 'soon' }, '@timestamp']
  ] as const) {
    const { entry } = toEntry(document, target, new Date(), defaults)
    t.ok(entry instanceof RefusedEntry && entry.message.includes(`[${field}]`), `${field} named`)
  }
  t.ok(toEntry([], target, new Date(), defaults).entry instanceof RefusedEntry, 'an array is no document')
  const source = { log: { level: 'warn', logger: 'x' } }
  toEntry(source, target, new Date(), defaults)
  t.same(source, { log: { level: 'warn', logger: 'x' } }, 'the document as parsed is left as it was')
})
