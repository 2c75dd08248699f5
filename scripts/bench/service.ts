// The service as the benchmark runs it: compiled (`node dist/src/server.js`,
// as the Docker image runs it) in a process of its own, on a free port, with
// every setting at its default but the per-client limits, and its memory read
// from /proc.
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { MAX_BYTE_SETTING } from '../../src/config.ts'
import { checkInterrupted, startNode, type Child } from './children.ts'
import { SERVICE_NODE_OPTIONS } from './node-options.ts'

export interface Service {
  child: Child
  /** http://127.0.0.1:<port> */
  base: string
  pid: number
}

/**
 * The service's environment: the database, the address, Node's options as
 * the Docker image sets them, and the per-client limits raised so far that
 * they are never what is measured. Nothing else is passed on from ours (a
 * LOG_LEVEL or REDIS_URL set for other work would change the figures): every
 * other setting keeps its default.
 */
function serviceEnv (databaseUrl: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    if (process.env[name] !== undefined) env[name] = process.env[name]
  }
  return {
    ...env,
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    RATE_LIMIT_MAX: '1000000000',
    INGEST_RATE_LIMIT: '1000000000',
    INGEST_BYTES_LIMIT: String(MAX_BYTE_SETTING)
  }
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject).listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function waitUntilReady (service: Child, base: string): Promise<void> {
  let exited: string | undefined
  void service.exited.then((how) => { exited = how })
  const deadline = Date.now() + 120_000
  for (;;) {
    checkInterrupted()
    if (exited !== undefined) throw new Error(`the service ended (${exited}) before it was ready; its errors, if any, are above`)
    const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(2000) }).then((answer) => answer.ok, () => false)
    if (ready) return
    if (Date.now() > deadline) throw new Error('the service was not ready within 120 s')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/**
 * Starts the compiled service on `databaseUrl` (which it migrates) and waits
 * until it is ready. Its log lines (one per refused, failed or slow request at
 * the default level) go nowhere, as they would to a collector that keeps up;
 * its stderr is ours. Stop it with children.ts's stop().
 */
export async function startService (name: string, databaseUrl: string): Promise<Service> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = startNode(name, 'dist/src/server.js', { env: serviceEnv(databaseUrl, port), stdout: 'ignore' })
  await waitUntilReady(child, base)
  return { child, base, pid: child.process.pid ?? 0 }
}

/** A line of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: the most it has been); undefined where there is none. */
export async function processMemory (pid: number, line: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kib = new RegExp(`^${line}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]
  return kib === undefined ? undefined : Number(kib) * 1024
}

/**
 * The CPU time the process has used so far, user and system, in seconds;
 * undefined where /proc has no stat. /proc counts it in USER_HZ ticks, which
 * Linux fixes at 100 a second.
 */
export async function processCpuSeconds (pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // After the command's name, which may hold spaces, in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const user = Number(fields[11])
  const system = Number(fields[12])
  return Number.isFinite(user) && Number.isFinite(system) && stat !== '' ? (user + system) / 100 : undefined
}
