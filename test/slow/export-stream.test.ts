// GET /api/v1/logs/export over a real socket: the service reads a page only
// once the client has taken the one before, so a client that reads slowly or
// stops holds the server to a few pages, whatever the export's length; a
// client that leaves frees its query slot and connections; QUERY_TIMEOUT_MS
// bounds each page, not the export; a failure after the first byte cuts the
// transfer; the pages sent do not pile up in V8's old generation. Rows read
// from the database are counted from the service's own trace lines ('export
// page read'), rows received by the client here.
import { execFile } from 'node:child_process'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { promisify } from 'node:util'
import { getHeapSpaceStatistics } from 'node:v8'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import t, { type Test } from 'tap'
import { buildTestApp, callApi, expectError, issueKey, loopbackPort, type IssuedKey } from '../helper.ts'

const execFileAsync = promisify(execFile)

// Each test writes tens of thousands of rows and reads them back over HTTP.
t.setTimeout(300_000)

/** `count` logs of the key's client in one statement, one millisecond apart, each message about `messageBytes` long. */
async function seed (app: FastifyInstance, key: IssuedKey, count: number, messageBytes: number): Promise<void> {
  await sql`insert into logs (client_id, id, environment, executed_at, status, level, message, key_id)
    select ${key.clientId}::uuid, gen_random_uuid(), 'production', timestamptz '2026-11-20T00:00:00Z' + g * interval '1 millisecond',
      'SUCCESS', 'info', 'row ' || g || ' ' || repeat('x', ${messageBytes}), ${key.keyId}::uuid
    from generate_series(1, ${count}) g`.execute(app.db)
  await sql`analyze logs`.execute(app.db)
}

/** Rows the service has read from the database for exports so far. */
function rowsRead (logLines: () => string[]): number {
  let rows = 0
  for (const line of logLines()) {
    if (!line.includes('export page read')) continue
    rows = Math.max(rows, (JSON.parse(line) as { rows: number }).rows)
  }
  return rows
}

async function until (what: string, check: () => boolean | Promise<boolean>, boundMs = 15_000): Promise<void> {
  const end = Date.now() + boundMs
  while (!await check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${boundMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** An export read over HTTP at the pace the test sets: paused, resumed, or gone. */
class Reader {
  readonly socket: Promise<Socket>
  readonly response: Promise<IncomingMessage>
  /** Settles when the body ended (complete) or the transfer was cut. */
  readonly done: Promise<{ complete: boolean }>
  bytes = 0
  lines = 0
  #pauseAt = Infinity
  #response: IncomingMessage | undefined

  constructor (t: Test, port: number, apiKey: string, path: string) {
    const request = httpRequest({ port, host: '127.0.0.1', path, agent: false, headers: { 'x-api-key': apiKey } })
    this.socket = new Promise((resolve) => request.once('socket', resolve))
    // A test that fails must not leave an export waiting on its reader: the app could not close.
    t.teardown(async () => { (await this.socket).destroy() })
    this.response = new Promise((resolve, reject) => { request.once('response', resolve); request.once('error', reject) })
    this.done = new Promise((resolve) => {
      request.once('response', (response) => {
        this.#response = response
        response.on('data', (chunk: Buffer) => {
          this.bytes += chunk.length
          for (const byte of chunk) if (byte === 10) this.lines++
          if (this.lines >= this.#pauseAt) response.pause()
        })
        response.once('end', () => { resolve({ complete: response.complete }) })
        response.once('error', () => { resolve({ complete: false }) })
        response.once('aborted', () => { resolve({ complete: false }) })
      })
      request.once('error', () => { resolve({ complete: false }) })
    })
    request.end()
  }

  /** Stops reading once `lines` lines have arrived (at the chunk that brings them). */
  async readUntil (lines: number): Promise<void> {
    this.#pauseAt = lines
    const response = this.#response ?? await this.response
    response.resume()
    await until(`${lines} lines read`, () => this.lines >= lines)
  }

  async readToEnd (): Promise<{ complete: boolean }> {
    this.#pauseAt = Infinity
    ;(this.#response ?? await this.response).resume()
    return await this.done
  }
}

interface Served { app: FastifyInstance, databaseUrl: string, port: number, logLines: () => string[], key: IssuedKey, serverSockets: Socket[] }

async function serve (t: Test, env: Record<string, string> = {}): Promise<Served> {
  const { app, databaseUrl, logLines } = await buildTestApp(t, env)
  const serverSockets: Socket[] = []
  app.server.on('connection', (socket: Socket) => { serverSockets.push(socket) })
  const port = await loopbackPort(app)
  const key = await issueKey(app, 'acme')
  return { app, databaseUrl, port, logLines, key, serverSockets }
}

/**
 * Waits until the service has stopped reading: its socket holds bytes the
 * client has not taken, no statement runs on the read pool, and the rows read
 * stay the same over several looks. An export that ignored back-pressure would
 * keep reading until every row was read, and show it.
 */
async function untilServiceWaits (served: Served): Promise<number> {
  let last = -1
  let same = 0
  await until('the service waits for the client', () => {
    const read = rowsRead(served.logLines)
    same = read === last ? same + 1 : 0
    last = read
    const use = served.app.queries.poolUse()
    return same >= 4 && use.idle === use.total && served.serverSockets.some((socket) => socket.writableLength > 0)
  })
  return last
}

/** The read pool's backends in the database: what each is doing. */
async function readBackends (app: FastifyInstance): Promise<string[]> {
  const { rows } = await sql<{ state: string }>`select state from pg_stat_activity
    where application_name = 'central-logger queries' and datname = current_database()`.execute(app.db)
  return rows.map((row) => row.state)
}

// Rows of about 6 KB: an export larger than the kernel's socket buffers, in
// few enough rows to be written quickly. (The timeout test wants many small pages.)
const TOTAL = 16_000
const MESSAGE_BYTES = 6_000
const SMALL_MESSAGE_BYTES = 600
/** Enough rows to outlast the socket buffers (some 50 MB), for the tests that stop a reader early. */
const LONG_EXPORT = 8_000

void t.test('a client that reads slowly or stops holds the service to a few pages: memory stays flat', async (t) => {
  const served = await serve(t)
  await seed(served.app, served.key, TOTAL, MESSAGE_BYTES)
  const reader = new Reader(t, served.port, served.key.apiKey, '/api/v1/logs/export')
  // About 6.2 KB a line: the export is some 99 MB. Between the service and
  // the client, the kernel's socket buffers hold what this machine allows
  // (net.ipv4.tcp_rmem and tcp_wmem: up to 32 MB and 4 MB): a row read ahead
  // of the client is in them, or in the service's own buffers, which hold at
  // most a page beyond its socket's high-water mark.
  const kernelBytes = 36 * 1024 * 1024
  for (const at of [100, 4_000]) {
    await reader.readUntil(at)
    const read = await untilServiceWaits(served)
    const lineBytes = reader.bytes / reader.lines
    const aheadBytes = (read - reader.lines) * lineBytes
    t.ok(read < TOTAL, `paused at ${reader.lines} lines: ${read} of ${TOTAL} rows read`)
    t.ok(aheadBytes < kernelBytes + 2 * 4 * 1024 * 1024 && aheadBytes < (TOTAL - reader.lines) * lineBytes,
      `read ahead of the client: ${read - reader.lines} rows, ${(aheadBytes / 1024 / 1024).toFixed(1)} MB, fewer than what remains`)
    const queued = Math.max(...served.serverSockets.map((socket) => socket.writableLength))
    t.ok(queued <= 2 * 4 * 1024 * 1024, `in the service's own socket buffer: ${(queued / 1024).toFixed(0)} KiB, at most two pages`)
    t.equal(served.app.queries.running(served.key.clientId), 1, 'the export holds its query slot while it waits')
  }
  const { complete } = await reader.readToEnd()
  t.ok(complete, 'the body ended properly')
  t.equal(reader.lines, TOTAL, 'every row reached the client')
  t.equal(rowsRead(served.logLines), TOTAL, 'each row read once')
  await until('the slot is given back', () => served.app.queries.running(served.key.clientId) === 0)
})

/** What V8's old generation holds now (its large objects too), in bytes. */
function oldGeneration (): number {
  let bytes = 0
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name === 'large_object_space') bytes += space.space_used_size
  }
  return bytes
}

/**
 * Watches the old generation while `work` runs and says how much it gained,
 * summed over samples 5 ms apart, a full collection's fall not subtracted:
 * about what was moved there from the young generation.
 */
async function oldGenerationGain (work: () => Promise<void>): Promise<number> {
  let last = oldGeneration()
  let gained = 0
  const sample = (): void => {
    const now = oldGeneration()
    if (now > last) gained += now - last
    last = now
  }
  const timer = setInterval(sample, 5)
  try {
    await work()
  } finally {
    clearInterval(timer)
    sample()
  }
  return gained
}

void t.test('a page dies young: the old generation does not fill with the pages already sent', async (t) => {
  const served = await serve(t)
  const rows = 20_000
  await seed(served.app, served.key, rows, SMALL_MESSAGE_BYTES)
  // The client is a process of its own (curl), so that the old generation watched here is the service's.
  const url = `http://127.0.0.1:${served.port}/api/v1/logs/export`
  const download = async (): Promise<string> => {
    const { stdout } = await execFileAsync('curl', ['-sS', '--fail', '-H', `x-api-key: ${served.key.apiKey}`, '-o', '/dev/null', '-w', '%{size_download}', url])
    return stdout
  }
  // Warm: the first export compiles the code and fills the caches the second finds.
  await download()
  let bytes = 0
  const gained = await oldGenerationGain(async () => { bytes = Number(await download()) })
  t.ok(bytes > rows * SMALL_MESSAGE_BYTES, `the export arrived: ${(bytes / 1e6).toFixed(1)} MB`)
  // Pages that outlived the young generation's collections would move there
  // whole, as much as the export itself or more (its rows and its text).
  t.ok(gained < bytes / 5, `the old generation gained ${(gained / 1e6).toFixed(1)} MB over an export of ${(bytes / 1e6).toFixed(1)} MB`)
})

void t.test('a client that goes away mid-export frees its slot, its connections and the statement', async (t) => {
  const served = await serve(t, { QUERY_CONCURRENCY_PER_CLIENT: '1' })
  await seed(served.app, served.key, LONG_EXPORT, MESSAGE_BYTES)
  const reader = new Reader(t, served.port, served.key.apiKey, '/api/v1/logs/export?format=csv')
  await reader.readUntil(200)
  const read = await untilServiceWaits(served)
  expectError(t, await callApi(served.app, served.key.apiKey, 'GET', '/api/v1/logs'), 429, 'too_many_queries')

  ;(await reader.socket).destroy()
  await until('the slot is given back', () => served.app.queries.running(served.key.clientId) === 0)
  t.equal(rowsRead(served.logLines), read, 'no page was read after the client left')
  const use = served.app.queries.poolUse()
  t.equal(use.idle, use.total, 'every read connection is back in the pool')
  t.notOk((await readBackends(served.app)).some((state) => state !== 'idle'), 'no read backend runs a statement or holds a transaction')
  t.ok(served.logLines().some((line) => line.includes('export stopped: the client went away')), 'logged')
  t.equal((await callApi(served.app, served.key.apiKey, 'GET', '/api/v1/logs')).statusCode, 200, 'the client may query again')
})

/** An ACCESS EXCLUSIVE lock on logs, from a connection of the test's own, until released. */
async function lockLogs (t: Test, databaseUrl: string): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: databaseUrl })
  await holder.connect()
  await holder.query('begin')
  await holder.query('lock table logs in access exclusive mode')
  let released = false
  const release = async (): Promise<void> => {
    if (released) return
    released = true
    await holder.query('rollback')
    await holder.end()
  }
  t.teardown(release)
  return release
}

async function waitingOnLogs (app: FastifyInstance): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks
    where not granted and relation = 'logs'::regclass`.execute(app.db)
  return rows[0]?.n ?? 0
}

void t.test('a client that leaves while a page is being read has that statement cancelled', async (t) => {
  const served = await serve(t)
  await seed(served.app, served.key, LONG_EXPORT, MESSAGE_BYTES)
  const reader = new Reader(t, served.port, served.key.apiKey, '/api/v1/logs/export')
  await reader.readUntil(100)
  await untilServiceWaits(served)
  const release = await lockLogs(t, served.databaseUrl)
  void reader.readToEnd()
  await until('the next page waits on the lock', async () => await waitingOnLogs(served.app) === 1)
  ;(await reader.socket).destroy()
  await until('the page statement is cancelled', async () => await waitingOnLogs(served.app) === 0)
  await until('the slot is given back', () => served.app.queries.running(served.key.clientId) === 0)
  await release()
  await until('the read pool is idle', () => { const use = served.app.queries.poolUse(); return use.idle === use.total })
  t.pass('the statement was cancelled, the slot and the connection given back')
})

void t.test('QUERY_TIMEOUT_MS bounds each page, not the export', async (t) => {
  const timeoutMs = 250
  const served = await serve(t, { QUERY_TIMEOUT_MS: String(timeoutMs) })
  const rows = 20_000
  await seed(served.app, served.key, rows, SMALL_MESSAGE_BYTES)
  const started = Date.now()
  const reader = new Reader(t, served.port, served.key.apiKey, '/api/v1/logs/export')
  // A slow reader: 4,000 rows, then a pause longer than the timeout, and again.
  for (let at = 4_000; at < rows; at += 4_000) {
    await reader.readUntil(at)
    await new Promise((resolve) => setTimeout(resolve, 2 * timeoutMs))
  }
  const { complete } = await reader.readToEnd()
  const took = Date.now() - started
  t.ok(took > 4 * timeoutMs, `the export took ${took} ms, ${(took / timeoutMs).toFixed(1)} times the statement timeout`)
  t.ok(complete, 'and ended properly')
  t.equal(reader.lines, rows, 'with every row')
})

void t.test('a page that fails after the first byte cuts the transfer; before it, the error is JSON', async (t) => {
  const served = await serve(t, { QUERY_TIMEOUT_MS: '300' })
  await seed(served.app, served.key, LONG_EXPORT, MESSAGE_BYTES)

  const release = await lockLogs(t, served.databaseUrl)
  const refused = await callApi(served.app, served.key.apiKey, 'GET', '/api/v1/logs/export')
  expectError(t, refused, 503, 'query_timeout')
  t.equal(refused.headers['content-disposition'], undefined, 'an error is no attachment')
  await release()

  const reader = new Reader(t, served.port, served.key.apiKey, '/api/v1/logs/export')
  const response = await reader.response
  t.equal(response.statusCode, 200)
  await reader.readUntil(100)
  await untilServiceWaits(served)
  const releaseAgain = await lockLogs(t, served.databaseUrl)
  const { complete } = await reader.readToEnd()
  await releaseAgain()
  t.notOk(complete, 'the client sees a cut transfer, not an end')
  t.ok(reader.lines < LONG_EXPORT, `after ${reader.lines} lines`)
  t.ok(served.logLines().some((line) => line.includes('export failed after its answer began')), 'logged as a failure')
  await until('the slot is given back', () => served.app.queries.running(served.key.clientId) === 0)
})
