// Database errors reach the log in one line with their cause: type, code and
// message, not pg's parser frames or PostgreSQL's source file, line and
// routine. Any other error keeps its stack.
import pg from 'pg'
import t from 'tap'
import { errorSummary, serializeError } from '../../src/db/error-summary.ts'
import { buildTestApp } from '../helper.ts'

interface Line { msg: string, err?: Record<string, unknown> }

void t.test('connections cut under the pool and the key change listener: logged as code and message', async (t) => {
  const { app, databaseUrl, logLines } = await buildTestApp(t)
  await app.inject({ method: 'GET', url: '/ready' })
  const admin = new pg.Client(databaseUrl)
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  const { rowCount } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
    where datname = current_database() and application_name like 'central-logger%' and pid <> pg_backend_pid()`)
  t.ok((rowCount ?? 0) >= 2, 'a pool connection and the listener\'s were cut')

  const logged = (): Line[] => logLines().map((line) => JSON.parse(line) as Line).filter((line) => line.err !== undefined)
  const wanted = ['database connection lost', 'key change notifications lost; keys are checked against the database until they resume']
  for (let waited = 0; wanted.some((msg) => !logged().some((line) => line.msg === msg)) && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for (const msg of wanted) {
    const line = logged().find((candidate) => candidate.msg === msg)
    t.same(line?.err, { type: 'DatabaseError', code: '57P01', message: 'terminating connection due to administrator command', stack: '' }, msg)
  }
})

void t.test('the serializer: database errors summarised, their cause too; other errors as pino shows them', async (t) => {
  const refused = Object.assign(new AggregateError([
    Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  ], ''), { code: 'ECONNREFUSED' })
  t.same(errorSummary(refused), { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432' },
    'an AggregateError without a message says what its errors say')
  const wrapped = new Error('could not record usage', { cause: new Error('Connection terminated unexpectedly') })
  t.same(serializeError(wrapped), {
    type: 'Error',
    message: 'could not record usage',
    stack: '',
    cause: { type: 'Error', message: 'Connection terminated unexpectedly', stack: '' }
  })
  const bug = serializeError(new TypeError('x is undefined'))
  t.equal(bug.type, 'TypeError')
  t.match(bug.stack, /\n\s+at /, 'a bug keeps its stack')
})
