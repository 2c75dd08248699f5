import type { FastifyReply, FastifyRequest } from 'fastify'
import t from 'tap'
import { ProblemRequestLog } from '../../src/net/request-log.ts'
import { buildTestApp, entry, issueKey, postLogs } from '../helper.ts'

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
