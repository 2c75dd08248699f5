// Running the key CLI from tests: a fresh Node process on the given database,
// with this test's own TypeScript loader (process.execArgv) so that its
// coverage counts. A few seconds apiece on a loaded machine.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the key CLI the way `npm run keys` does, on the given database. */
export async function keys (databaseUrl: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [...process.execArgv, 'scripts/keys.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  // Always closed, so that a command reading stdin can never wait forever.
  child.stdin.end(stdin)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, stdout, stderr }
}

/** Runs independent commands a few at a time. */
export async function inParallel<T, R> (items: T[], work: (item: T) => Promise<R>, width = 3): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker))
  return results
}

/** The whole of stdout as one JSON document (JSON.parse refuses anything before or after it). */
export function parsed<T> (run: Run): T {
  try {
    return JSON.parse(run.stdout) as T
  } catch (error) {
    throw new Error(`stdout is not one JSON document (exit ${String(run.code)}): ${run.stdout}\nstderr: ${run.stderr}`, { cause: error })
  }
}
