import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { RequestLogger, requestLogger } from '../../src/net/request-logger.ts'

function capture (level = 'info'): { logger: pino.Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { logger: pino({ level, base: null, timestamp: false }, stream), lines }
}

void t.test('a request logger writes what a pino child with the same bindings writes', async (t) => {
  const { logger, lines } = capture()
  const lazy = requestLogger(logger, { reqId: 'req-1' }, {}).child({ client_id: 'c', key_id: 'k' })
  lazy.info({ code: 'x' }, 'request rejected')
  lazy.warn('plain %s', 'text')
  logger.child({ reqId: 'req-1' }).child({ client_id: 'c', key_id: 'k' }).info({ code: 'x' }, 'request rejected')
  t.same(lines[0], lines[2], 'the same line as an eager child')
  t.same(lines[0], { level: 30, reqId: 'req-1', client_id: 'c', key_id: 'k', code: 'x', msg: 'request rejected' })
  t.same(lines[1], { level: 40, reqId: 'req-1', client_id: 'c', key_id: 'k', msg: 'plain text' })
})

void t.test('no pino child is made until a line is written at a level that is on', async (t) => {
  const { logger, lines } = capture('info')
  let children = 0
  const child = logger.child.bind(logger)
  logger.child = ((...args: Parameters<typeof child>) => { children++; return child(...args) }) as typeof logger.child
  const lazy = new RequestLogger(logger, { reqId: 'req-2' })
  lazy.child({ client_id: 'c' }).debug('not on')
  lazy.trace('not on either')
  t.equal(children, 0)
  t.equal(lazy.level, 'info')
  lazy.error('on')
  t.equal(children, 1)
  t.same(lines, [{ level: 50, reqId: 'req-2', msg: 'on' }])
})

void t.test('a level or serializers of its own make a real child at once', async (t) => {
  const { logger, lines } = capture('info')
  const quiet = requestLogger(logger, { reqId: 'req-3' }, { level: 'error' })
  quiet.info('dropped')
  quiet.error('kept')
  const lazy = new RequestLogger(logger, { reqId: 'req-4' })
  lazy.child({ step: 1 }, { level: 'debug' }).debug('debug on for this child')
  t.same(lines, [{ level: 50, reqId: 'req-3', msg: 'kept' }, { level: 20, reqId: 'req-4', step: 1, msg: 'debug on for this child' }])
  lazy.level = 'warn'
  lazy.info('dropped')
  t.equal(lines.length, 2)
})
