// Bodies built to cost the most to read, sent with a valid key: each is
// refused cheaply, without parsing what the refusal does not need, and while
// they are read the event loop keeps turning and /health keeps answering
// over a real socket.
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { jsonTextsParsed, WHOLE_PARSE_BYTES } from '../../src/body/read-entries.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, loopbackPort, postLogs } from '../helper.ts'

const MIB = 1024 * 1024
const FIVE_MIB = 5 * MIB

/** `unit` repeated, joined by `separator`, to fill about 5 MiB. */
function flood (unit: string, separator: string, open = '', close = ''): string {
  const count = Math.floor((FIVE_MIB - open.length - close.length) / (unit.length + separator.length))
  return `${open}${Array.from({ length: count }, () => unit).join(separator)}${close}`
}

function manyKeys (count: number, prefix = 'k'): string {
  return Array.from({ length: count }, (_, i) => `"${prefix}${i}":0`).join(',')
}

void t.test('an NDJSON body of millions of lines is refused before a line is parsed', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const ndjson = { contentType: 'application/x-ndjson', encoding: 'gzip' }

  // 5 KB of gzip, 2.6M lines of `x` once inflated.
  const lines = gzipSync(flood('x', '\n'))
  t.ok(lines.length < 16 * 1024, `${lines.length} bytes sent`)
  let before = jsonTextsParsed()
  const refused = expectError(t, await postLogs(app, key.apiKey, lines, ndjson), 413, 'too_many_entries')
  t.match(refused.message, /1000/)
  t.equal(jsonTextsParsed() - before, 0, 'no line was parsed')

  before = jsonTextsParsed()
  expectError(t, await postLogs(app, key.apiKey, gzipSync('\n'.repeat(FIVE_MIB - 1)), ndjson), 400, 'empty_batch')
  t.equal(jsonTextsParsed() - before, 0, 'five million blank lines: none parsed')

  // 1,001 valid lines among blank ones: the count stops at the 1,001st, before parsing any.
  const valid = JSON.stringify(entry())
  before = jsonTextsParsed()
  const spread = Array.from({ length: 1001 }, () => `${valid}\n${'\n'.repeat(2000)}`).join('')
  expectError(t, await postLogs(app, key.apiKey, gzipSync(spread), ndjson), 413, 'too_many_entries')
  t.equal(jsonTextsParsed() - before, 0, 'one line too many: none parsed')

  before = jsonTextsParsed()
  const thousand = Array.from({ length: 1000 }, () => `${valid}\n\n`).join('')
  t.equal((await postLogs(app, key.apiKey, gzipSync(thousand), ndjson)).statusCode, 201, '1,000 lines among blank ones are stored')
  t.equal(jsonTextsParsed() - before, 1000, 'each parsed once')
  t.equal(await countLogs(app), 1000)
})

void t.test('an entry with too many fields is refused by its index, unparsed; a JSON array is counted like NDJSON', async (t) => {
  const { app } = await buildTestApp(t, { MAX_ENTRY_FIELDS: '100' })
  const key = await issueKey(app, 'acme')
  // Over WHOLE_PARSE_BYTES, so that the body is scanned, not parsed whole.
  const valid = JSON.stringify(entry({ message: 'x'.repeat(WHOLE_PARSE_BYTES / 2) }))
  const crowded = `{"environment":"p","executed_at":"2026-11-20T10:00:00Z","status":"ok","attributes":{${manyKeys(200)}}}`

  let before = jsonTextsParsed()
  const res = await postLogs(app, key.apiKey, `[${valid},${crowded},${valid}]`)
  const body = expectError(t, res, 400, 'invalid_entries')
  t.match(body.details, [{ index: 1, code: 'too_many_fields' }])
  t.equal(jsonTextsParsed() - before, 2, 'the two other entries were parsed, not the crowded one')
  // A small body is parsed whole (a few milliseconds at most, whatever it holds), and answered the same.
  const small = expectError(t, await postLogs(app, key.apiKey, `[${JSON.stringify(entry())},${crowded}]`), 400, 'invalid_entries')
  t.match(small.details, [{ index: 1, code: 'too_many_fields' }])

  const partial = await postLogs(app, key.apiKey, `[${valid},${crowded}]`, { query: '?partial=true' })
  t.equal(partial.statusCode, 201)
  t.match(partial.json(), { accepted: 1, rejected: [{ index: 1, code: 'too_many_fields' }] })

  before = jsonTextsParsed()
  expectError(t, await postLogs(app, key.apiKey, gzipSync(flood('0', ',', '[', ']')), { encoding: 'gzip' }), 413, 'too_many_entries')
  t.equal(jsonTextsParsed() - before, 0, 'an array of 2.6M elements: none parsed')

  before = jsonTextsParsed()
  expectError(t, await postLogs(app, key.apiKey, `{${manyKeys(50_000)}}`), 400, 'invalid_entries')
  t.equal(jsonTextsParsed() - before, 0, 'an object of 50,000 keys: not parsed')
})

/** GET /health over its own connection every few milliseconds until stopped; the slowest answer, in ms. */
function probeHealth (port: number): { stop: () => Promise<{ slowest: number, answered: number }> } {
  let running = true
  let slowest = 0
  let answered = 0
  const loop = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- cleared by the test once the bodies are read
    while (running) {
      const started = performance.now()
      const status = await new Promise<number>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: '/health', agent: false }, (res) => {
          res.resume()
          res.on('end', () => { resolve(res.statusCode ?? 0) })
        }).on('error', reject)
      })
      if (status === 200) answered++
      slowest = Math.max(slowest, performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { slowest, answered }
    }
  }
}

/** POST over a socket; the status and the error code. */
async function post (port: number, apiKey: string, body: Buffer, headers: Record<string, string>): Promise<string> {
  return await new Promise((resolve, reject) => {
    const request = http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/api/v1/logs',
      agent: false,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'content-length': String(body.length), ...headers }
    }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => { resolve(`${res.statusCode ?? 0} ${(JSON.parse(text) as { code?: string }).code ?? ''}`) })
    })
    request.on('error', reject)
    request.end(body)
  })
}

void t.test('while the costliest bodies are read, no piece of work holds the event loop, and /health answers', async (t) => {
  const { app } = await buildTestApp(t, { LOG_LEVEL: 'warn' })
  const key = await issueKey(app, 'acme')
  const port = await loopbackPort(app)

  const missingStatus = (overrides: Record<string, unknown>): string => JSON.stringify({ ...entry(overrides), status: undefined })
  const gzip = { 'content-encoding': 'gzip' }
  const ndjson = { ...gzip, 'content-type': 'application/x-ndjson' }
  const bodies: Array<{ name: string, body: Buffer, headers: Record<string, string>, answer: string }> = [
    { name: '2.6M NDJSON lines of x', body: gzipSync(flood('x', '\n')), headers: ndjson, answer: '413 too_many_entries' },
    { name: '5M blank NDJSON lines', body: gzipSync('\n'.repeat(FIVE_MIB - 1)), headers: ndjson, answer: '400 empty_batch' },
    { name: 'an array of 2.6M zeros', body: gzipSync(flood('0', ',', '[', ']')), headers: gzip, answer: '413 too_many_entries' },
    { name: 'an array of 1.7M empty objects', body: gzipSync(flood('{}', ',', '[', ']')), headers: gzip, answer: '413 too_many_entries' },
    { name: 'an object of 440K keys', body: gzipSync(`{${manyKeys(440_000)}}`), headers: gzip, answer: '400 invalid_entries' },
    { name: 'arrays nested 2.6M deep', body: gzipSync(`${'['.repeat(FIVE_MIB / 2 - 1)}${']'.repeat(FIVE_MIB / 2 - 1)}`), headers: gzip, answer: '400 invalid_entries' },
    { name: 'a 5 MiB message of escapes', body: gzipSync(JSON.stringify(entry()).replace('}', `,"message":"${'\\u0041'.repeat(873_000)}"}`)), headers: gzip, answer: '400 invalid_entries' },
    {
      name: '1,000 NDJSON lines of 5 KiB',
      body: gzipSync(Array.from({ length: 1000 }, (_, i) => missingStatus({ message: 'x'.repeat(5000), event_id: `e${i}` })).join('\n')),
      headers: ndjson,
      answer: '400 invalid_entries'
    },
    {
      name: '1,000 entries of 400 attributes',
      body: gzipSync(`[${Array.from({ length: 1000 }, (_, i) => missingStatus({ event_id: `e${i}`, attributes: JSON.parse(`{${manyKeys(400, 'a')}}`) as unknown })).join(',')}]`),
      headers: gzip,
      answer: '400 invalid_entries'
    }
  ]

  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  const probe = probeHealth(port)
  const answers = await Promise.all(bodies.map(async ({ body, headers }) => await post(port, key.apiKey, body, headers)))
  const { slowest, answered } = await probe.stop()
  delay.disable()

  bodies.forEach(({ name, answer }, i) => t.equal(answers[i], answer, name))
  const worstMs = delay.max / 1e6
  t.comment(`event loop delay: max ${worstMs.toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; /health: ${answered} answers, slowest ${slowest.toFixed(1)} ms`)
  // Before bodies were read in slices, each of these held the loop for seconds (the first one for 10 s and more).
  // The service's own slices are a few milliseconds; the bound is generous because on a loaded two-core machine
  // the scheduler, not the service, accounts for most of the delay measured.
  t.ok(worstMs < 1000, `the event loop was never held for a second (at most ${worstMs.toFixed(1)} ms)`)
  t.ok(answered > 0 && slowest < 2000, `/health answered throughout, the slowest in ${slowest.toFixed(1)} ms`)
  t.equal(await countLogs(app), 0, 'nothing was stored')
})
