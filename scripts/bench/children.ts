// The benchmark's child processes: each runs `node --import tsx <script>`, or
// `node <script>` for compiled JavaScript, from the repository root, directly
// rather than through npm, so that its pid is the node process's own. Every child is
// tracked: a failure stops them, and an interrupt kills them at once, so none
// outlives the benchmark.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '../..')

const running = new Set<ChildProcess>()
let interrupted = false

export interface Child {
  name: string
  process: ChildProcess
  /** Settles when the process has exited, with how it ended. */
  exited: Promise<string>
}

/**
 * From now on, SIGINT and SIGTERM kill every child at once and make the next
 * step fail, so that the benchmark unwinds through its clean-up (the scratch
 * database dropped) and exits 130.
 */
export function killChildrenOnInterrupt (): void {
  const interrupt = (): void => {
    interrupted = true
    process.exitCode = 130
    for (const child of running) child.kill('SIGKILL')
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
}

export function wasInterrupted (): boolean {
  return interrupted
}

/** Throws once the benchmark has been interrupted. */
export function checkInterrupted (): void {
  if (interrupted) throw new Error('interrupted')
}

/**
 * Starts `script` (relative to the repository root) with `args`, a `.ts` file
 * through tsx; its stderr is ours, its stdout piped or discarded.
 */
export function startNode (name: string, script: string, options: { env: NodeJS.ProcessEnv, stdout: 'pipe' | 'ignore', args?: string[] }): Child {
  checkInterrupted()
  const args = [...script.endsWith('.ts') ? ['--import', 'tsx'] : [], script, ...options.args ?? []]
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: options.env,
    stdio: ['ignore', options.stdout, 'inherit']
  })
  running.add(child)
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => { running.delete(child); resolve(`could not start: ${error.message}`) })
    child.once('exit', (code, signal) => { running.delete(child); resolve(signal === null ? `exit code ${code}` : `signal ${signal}`) })
  })
  return { name, process: child, exited }
}

/** Runs `script` to its end and returns its stdout; fails unless it exits 0, with what it printed. */
export async function runNode (name: string, script: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<string> {
  const child = startNode(name, script, { env, stdout: 'pipe', args })
  const chunks: Buffer[] = []
  child.process.stdout?.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  const ended = await child.exited
  const output = Buffer.concat(chunks).toString('utf8')
  if (ended !== 'exit code 0') throw new Error(`${name} failed (${ended}); its errors, if any, are above${output === '' ? '' : `, and it printed:\n${output.slice(0, 4000)}`}`)
  return output
}

/** The first line the child writes on stdout; fails if it exits first. */
export async function firstLine (child: Child): Promise<string> {
  const stdout = child.process.stdout
  if (stdout === null) throw new Error(`${child.name}: stdout is not piped`)
  let text = ''
  return await new Promise<string>((resolve, reject) => {
    stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
      const end = text.indexOf('\n')
      if (end >= 0) resolve(text.slice(0, end))
    })
    // Once the line has come, this rejection changes nothing.
    void child.exited.then((how) => { reject(new Error(`${child.name} ended (${how}) before it was ready; its errors, if any, are above`)) })
  })
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stop (child: Child, graceMs = 15_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => { child.process.kill('SIGKILL') }, graceMs)
  try {
    await child.exited
  } finally {
    clearTimeout(timer)
  }
}
