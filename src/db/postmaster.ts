// The embedded PostgreSQL's server process, started in a session of its own:
// the SIGINT that a terminal's Ctrl-C sends to the whole foreground process
// group never reaches it, so the process that started it can still write what
// it holds and stop it last. It stays this process's child, so its exit is
// seen (and reaped) at once, even in a container where this process is PID 1.
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface PostmasterOptions {
  postgres: string
  databaseDir: string
  port: number
  /** Who runs the server: as root, the data directory's owner, since PostgreSQL refuses to run as root. */
  runAs?: { uid: number, gid: number }
  /** The server's output, as it comes. */
  onOutput: (text: string) => void
  /** How long the server may take to accept connections (crash recovery included). */
  startTimeoutMs?: number
}

export interface Postmaster {
  /** Fast shutdown: open connections are ended, everything committed is kept. Resolves once the server has exited. */
  stop: () => Promise<void>
}

export async function startPostmaster (options: PostmasterOptions): Promise<Postmaster> {
  const child = spawn(options.postgres, ['-D', options.databaseDir, '-p', String(options.port)], {
    // setsid(): a session and process group of its own.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.databaseDir,
    ...options.runAs
  })
  child.stdout.setEncoding('utf8').on('data', options.onOutput)
  child.stderr.setEncoding('utf8').on('data', options.onOutput)
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => { resolve(code === null ? `signal ${String(signal)}` : `exit ${code}`) })
    child.once('error', (error) => { resolve(error.message) })
  })
  let status: string | undefined
  void exited.then((how) => { status = how })

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000)
  while (!await isReady(options.databaseDir, child)) {
    if (status !== undefined) {
      // Its last lines (why it stopped) may still be on their way.
      await Promise.race([new Promise((resolve) => child.once('close', resolve)), sleep(500)])
      throw new Error(`postgres exited (${status})`)
    }
    if (Date.now() > deadline) {
      await stop(child, exited)
      throw new Error(`postgres did not accept connections within ${(options.startTimeoutMs ?? 60_000) / 1000} s`)
    }
    await sleep(50)
  }
  return { stop: async () => { await stop(child, exited) } }
}

async function stop (child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
  await exited
}

/**
 * What pg_ctl -w waits for: the server's postmaster.pid names this process and
 * says `ready` (its eighth line), written once it accepts connections.
 */
async function isReady (databaseDir: string, child: ChildProcess): Promise<boolean> {
  let lines: string[]
  try {
    lines = (await fs.readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')
  } catch {
    return false
  }
  return Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready'
}
