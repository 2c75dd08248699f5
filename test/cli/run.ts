// Running the key CLI from tests. `keys` runs a command line in this process
// (the same code as `npm run keys`, through src/cli/main.ts, with its own
// environment, stdin, stdout and stderr), which takes milliseconds; `keysProcess`
// starts it as a real Node process, as a user does, with this test's loader
// (process.execArgv) so that its coverage counts, which takes seconds.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runKeysCli } from '../../src/cli/main.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** What `keys create --json` prints. */
export interface Created {
  client_id: string
  client_name: string
  client_created: boolean
  key_id: string
  key_prefix: string
  api_key: string
  scopes: string[]
  expires_at: string | null
  allowed_cidrs: string[] | null
  rate_limit: number | null
  ingest_rate_limit: number | null
  ingest_bytes_limit: number | null
  storage_quota_bytes: number | null
  default_environment: string | null
  default_status: string | null
  signs: boolean
  signing_secret: string | null
  created_at: string
  env_line: string
  message: string
}

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a key CLI command line on the given database, in this process. */
export async function keys (databaseUrl: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await runKeysCli(args, {
    env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
    readStdin: async () => stdin,
    out: (text) => { stdout += text },
    err: (text) => { stderr += text }
  })
  return { code, stdout, stderr }
}

/** Runs the key CLI the way `npm run keys` does, as a process, on the given database. */
export async function keysProcess (databaseUrl: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
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
