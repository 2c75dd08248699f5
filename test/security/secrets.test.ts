// Where the service writes what it is sent: the database holds key hashes,
// never a key; the service log has the requests its REQUEST_LOG mode and
// SLOW_REQUEST_MS ask for, and never a key, whatever the request.
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, InjectOptions, FastifyReply, FastifyRequest } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { displayPrefix, generateKey, hashKey } from '../../src/keys/format.ts'
import { KEY_SHAPE, buildTestApp, entry, issueKey, postLogs } from '../helper.ts'
import { ProblemRequestLog } from '../../src/net/request-log.ts'

/** Every row of every table in the public schema, as JSON text, by table. */
async function dumpDatabase (app: FastifyInstance): Promise<Map<string, string>> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'
    order by table_name`.execute(app.db)
  const dump = new Map<string, string>()
  for (const { table_name: table } of tables.rows) {
    const rows = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(table)} t`.execute(app.db)
    dump.set(table, rows.rows.map((r) => r.row).join('\n'))
  }
  return dump
}

/** Pieces of a key that would betray it: the whole key, its secret part in windows, its bytes in hex. */
function secretFragments (key: string): string[] {
  const secret = key.slice(displayPrefix(key).length)
  const fragments = [key, key.slice(4), Buffer.from(key).toString('hex'), Buffer.from(key).toString('base64')]
  for (let i = 0; i + 12 <= secret.length; i += 6) fragments.push(secret.slice(i, i + 12))
  return fragments
}

/** The three header forms a key may be sent in. */
function headerForms (key: string): Array<Record<string, string>> {
  return [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }, { authorization: `Api-Key ${key}` }]
}

void t.test('the database holds key hashes, never a plaintext key', async (t) => {
  const { app } = await buildTestApp(t)
  const issued = [
    await issueKey(app, 'acme'),
    await issueKey(app, 'acme', { scopes: ['logs:read'] }),
    await issueKey(app, 'globex', { scopes: ['logs:write'] }),
    await issueKey(app, 'initech', { scopes: ['logs:write', 'logs:read', 'keys:manage'], expiresAt: new Date(Date.now() + 86_400_000) }),
    await issueKey(app, 'umbrella', { expiresAt: new Date(Date.now() - 1000) })
  ]
  const revoked = await issueKey(app, 'acme')
  await app.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', revoked.keyId).execute()
  const keys = [...issued.map((k) => k.apiKey), revoked.apiKey]

  let stored = 0
  for (const key of keys) {
    for (const headers of headerForms(key)) {
      const written = await app.inject({ method: 'POST', url: '/api/v1/logs', headers, payload: entry({ message: 'hello' }) })
      if (written.statusCode === 201) stored++
      await app.inject({ method: 'GET', url: '/api/v1/logs', headers })
    }
  }
  t.ok(stored > 0, 'some keys were used successfully')

  const dump = await dumpDatabase(app)
  t.ok(dump.has('api_keys') && dump.has('clients') && dump.has('logs'), 'the dump covers the service tables')
  t.ok((dump.get('logs') ?? '').includes('hello'), 'the dump holds the stored logs')
  const everything = [...dump.values()].join('\n')
  for (const key of keys) {
    for (const fragment of secretFragments(key)) {
      t.notOk(everything.includes(fragment), `no fragment of key ${displayPrefix(key)} is stored`)
    }
    t.ok((dump.get('api_keys') ?? '').includes(hashKey(key).toString('hex')), `the hash of ${displayPrefix(key)} is in api_keys`)
  }
  t.notMatch(everything, KEY_SHAPE, 'nothing key-shaped is stored')
})

// Each request-log mode writes other lines: every request as it arrives, or the refused ones when answered.
const REQUEST_LOGS = [
  { mode: 'all', requestLine: '"incoming request"' },
  { mode: 'problems', requestLine: '"request completed"' }
] as const

for (const { mode, requestLine } of REQUEST_LOGS) {
  void t.test(`no key reaches the service log, whatever the request (REQUEST_LOG=${mode})`, async (t) => {
    const { app, logLines } = await buildTestApp(t, { REQUEST_LOG: mode })
    const good = await issueKey(app, 'acme')
    const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
    const revoked = await issueKey(app, 'globex')
    await app.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', revoked.keyId).execute()
    const expired = await issueKey(app, 'initech', { expiresAt: new Date(Date.now() - 1000) })
    const unknown = generateKey()
    const last = good.apiKey.at(-1) === 'a' ? 'b' : 'a'
    const badChecksum = good.apiKey.slice(0, -1) + last
    const wrongPrefix = 'clx_' + good.apiKey.slice(4)
    const randomText = `not-a-key-${generateKey().slice(4, 24)}`
    const basic = Buffer.from(`user:${good.apiKey}`).toString('base64')
    const keys = [good.apiKey, readOnly.apiKey, revoked.apiKey, expired.apiKey, unknown, badChecksum, wrongPrefix, randomText]

    const bodies: Array<Pick<InjectOptions, 'payload' | 'headers'>> = [
      { payload: entry() },
      { payload: [entry(), entry({ status: '' })] },
      { payload: { environment: 'production' } },
      { payload: [] },
      { payload: '{"environment": ', headers: { 'content-type': 'application/json' } },
      { payload: 'not json\n{"a":1}', headers: { 'content-type': 'application/x-ndjson' } },
      { payload: gzipSync(JSON.stringify(entry())), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
      { payload: 'not gzip', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
      { payload: '<xml/>', headers: { 'content-type': 'application/xml' } }
    ]
    const statuses = new Set<number>()
    for (const key of keys) {
      for (const auth of headerForms(key)) {
        for (const body of bodies) {
          const res = await app.inject({ method: 'POST', url: '/api/v1/logs', payload: body.payload, headers: { ...body.headers, ...auth } })
          statuses.add(res.statusCode)
        }
        for (const url of ['/api/v1/logs', '/api/v1/logs?limit=0', '/api/v1/logs?cursor=forged', '/api/v1/logs/00000000-0000-0000-0000-000000000000', '/api/v1/nowhere']) {
          statuses.add((await app.inject({ method: 'GET', url, headers: auth })).statusCode)
        }
      }
    }
    for (const headers of [
      { authorization: `Basic ${basic}` },
      { authorization: `Digest ${good.apiKey}` },
      { authorization: good.apiKey },
      { 'x-api-key': good.apiKey, authorization: `Bearer ${unknown}` },
      { 'x-api-key': [good.apiKey, readOnly.apiKey].join(', ') }
    ]) {
      statuses.add((await app.inject({ method: 'POST', url: '/api/v1/logs', payload: entry(), headers })).statusCode)
      statuses.add((await app.inject({ method: 'GET', url: '/api/v1/logs', headers })).statusCode)
    }
    // The sweep must have gone through acceptance and each kind of refusal, or it proves little.
    for (const status of [200, 201, 400, 401, 403, 404]) t.ok(statuses.has(status), `some request got ${status}`)

    const lines = logLines()
    t.ok(lines.length > 100, `the service logged (${lines.length} lines)`)
    t.ok(lines.some((line) => line.includes(requestLine) && line.includes('"url"')), 'request lines were captured')
    t.ok(lines.some((line) => line.includes('"request rejected"')), 'rejection lines were captured')
    t.ok(lines.some((line) => line.includes('insufficient_scope')), 'lines of authenticated requests were captured')
    const leaks = lines.filter((line) => KEY_SHAPE.test(line) || keys.some((key) => line.includes(key)) || line.includes(basic))
    t.same(leaks, [], 'no line holds a key or an Authorization credential')
  })

  void t.test(`a key sent in the query string does not reach the service log (REQUEST_LOG=${mode})`, async (t) => {
    // Not a supported way to send a key, but a common client mistake (other log
    // services accept ?api_key=): the request is refused, and the key it carried
    // must not be written to the log with the URL.
    const { app, logLines } = await buildTestApp(t, { REQUEST_LOG: mode })
    const { apiKey } = await issueKey(app, 'acme')
    for (const url of [`/api/v1/logs?api_key=${apiKey}`, `/api/v1/logs?limit=10&key=${encodeURIComponent(apiKey)}`]) {
      const res = await app.inject({ method: 'GET', url })
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `refused with a 4xx (${res.statusCode})`)
    }
    const lines = logLines()
    t.ok(lines.some((line) => line.includes(requestLine) && line.includes('"url"')), 'request lines were captured')
    t.same(lines.filter((line) => KEY_SHAPE.test(line) || line.includes(apiKey)), [], 'no line holds the key')
  })
}

interface Line { msg?: string, req?: { method: string, url: string }, res?: { statusCode: number }, responseTime?: number }

function requestLines (lines: string[]): Line[] {
  return lines.map((line) => JSON.parse(line) as Line).filter((line) => line.msg === 'incoming request' || line.msg === 'request completed')
}

void t.test('by default an accepted request is not logged; a refused one is, once, with its method, URL and status', async (t) => {
  const { app, logLines } = await buildTestApp(t)
  const { apiKey, clientId, keyId } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, entry())).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  t.same(requestLines(logLines()), [], 'no line for the answered requests')

  t.equal((await postLogs(app, apiKey, entry({ status: '' }), { query: '?partial=false' })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/logs' })).statusCode, 401)
  const lines = requestLines(logLines())
  t.equal(lines.length, 2, 'one line for each refused request')
  t.match(lines[0], { msg: 'request completed', req: { method: 'POST', url: '/api/v1/logs?partial=false' }, res: { statusCode: 400 } })
  t.match(lines[1], { msg: 'request completed', req: { method: 'GET', url: '/api/v1/logs' }, res: { statusCode: 401 } })
  t.type(lines[0]?.responseTime, 'number')
  const rejected = logLines().map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request rejected')
  t.match(rejected[0], { code: 'invalid_entries', reqId: String, client_id: clientId, key_id: keyId }, 'an authenticated request\'s lines name its client and key')
})

void t.test('a request slower than SLOW_REQUEST_MS is logged, however it was answered', async (t) => {
  const logged: unknown[][] = []
  const log = { info: (...args: unknown[]) => { logged.push(args) }, error: (...args: unknown[]) => { logged.push(args) } }
  const controller = new ProblemRequestLog(1000)
  const request = {} as FastifyRequest
  const answered = (statusCode: number, elapsedTime: number) => ({ statusCode, elapsedTime, log }) as unknown as FastifyReply
  controller.requestCompleted(null, request, answered(201, 999))
  t.equal(logged.length, 0, 'under the threshold: no line')
  controller.requestCompleted(null, request, answered(201, 1000))
  t.match(logged, [[{ req: request, responseTime: 1000 }, 'request completed']])
  controller.requestCompleted(null, request, answered(404, 1))
  t.equal(logged.length, 2, 'a refusal, however quick')
  controller.requestCompleted(new Error('reset'), request, answered(201, 1))
  t.match(logged[2], [{ err: Error }, 'request errored'])
})

void t.test('REQUEST_LOG=all logs every request as it arrives and when it is answered', async (t) => {
  const { app, logLines } = await buildTestApp(t, { REQUEST_LOG: 'all' })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, entry())).statusCode, 201)
  const lines = requestLines(logLines())
  t.match(lines, [
    { msg: 'incoming request', req: { method: 'POST', url: '/api/v1/logs' } },
    { msg: 'request completed', res: { statusCode: 201 } }
  ])
})
