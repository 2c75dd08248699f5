// The service as a real process, as `npm start` runs it, for the fault and
// fleet tests: started on a database and Redis of the test's choosing, killed
// or stopped by the test, its output kept for the assertions and for a
// failure's report.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Service {
  name: string
  base: string
  child: ChildProcessWithoutNullStreams
  /** Every line the process wrote so far, stdout and stderr. */
  lines: string[]
  exited: Promise<number | null>
}

/**
 * Starts `src/server.ts` with this test's loader on a free port. `env` is laid
 * over a copy of the test's environment without REDIS_URL, so Redis is used
 * only when the test says so.
 */
export async function startService (t: Test, name: string, env: Record<string, string>): Promise<Service> {
  const base: NodeJS.ProcessEnv = { ...process.env }
  delete base.REDIS_URL
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...base,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // The tests send many requests from one address, some with revoked keys on purpose.
      AUTH_FAIL_MAX: '0',
      // A load of thousands of posts a minute is the point, not abuse.
      RATE_LIMIT_MAX: '1000000',
      ...env
    },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const lines: string[] = []
  const listening = new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      let rest = ''
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n')
        rest = parts.pop() ?? ''
        for (const line of parts) {
          lines.push(line)
          const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
          if (match !== null) resolve(match[1]!)
        }
      })
    }
    void exited.then((code) => { reject(new Error(`${name} exited ${String(code)} before listening:\n${lines.join('\n')}`)) })
  })
  const timeout = sleep(90_000, undefined, { ref: false }).then(() => { throw new Error(`${name} did not start listening:\n${lines.join('\n')}`) })
  return { name, base: await Promise.race([listening, timeout]), child, lines, exited }
}

/** SIGKILL, and the exit seen. */
export async function killService (service: Service): Promise<void> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL')
  await service.exited
}

/** Lines the service logged at `error` (pino level 50) or above: what a fault must not cause. */
export function errorLines (service: Service): string[] {
  return service.lines.filter((line) => {
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50
    } catch {
      return false
    }
  })
}

export interface Answer {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

/** A request with the key in X-API-Key; a body is sent as JSON. */
export async function call (base: string, method: string, path: string, apiKey: string, body?: unknown, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal === undefined ? {} : { signal })
  })
  const text = await res.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = { text }
  }
  return { status: res.status, headers: res.headers, body: parsed }
}

export async function until (what: string, check: () => boolean | Promise<boolean>, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`)
    await sleep(25)
  }
}
