// `npm test`: runs the tap suite against TEST_DATABASE_URL, or, when it is
// unset, against an embedded PostgreSQL started for the run and removed after.
// Ends with one line, "N passed, N failed, N skipped", counted from tap's
// results of every test file.
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Parser, type Result } from 'tap-parser'
import { openEmbeddedPostgres } from '../src/db/embedded.ts'

const RESULTS_DIR = '.tap/test-results'

async function withTestDatabase<T> (run: (url: string) => Promise<T>): Promise<T> {
  const given = process.env.TEST_DATABASE_URL
  if (given !== undefined && given !== '') return await run(given)
  const dataDir = await mkdtemp(path.join(tmpdir(), 'central-logger-test-'))
  // As root, PostgreSQL runs as the `postgres` user, which must reach this directory.
  await chmod(dataDir, 0o755)
  process.stderr.write(`TEST_DATABASE_URL is not set: starting an embedded PostgreSQL in ${dataDir}\n`)
  const embedded = await openEmbeddedPostgres({ dataDir, port: 0 })
  try {
    return await run(embedded.url)
  } finally {
    await embedded.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function runTap (databaseUrl: string): Promise<number> {
  if (process.env.REDIS_URL === undefined) {
    process.stderr.write('REDIS_URL is not set: tests that need Redis are skipped.\n')
  }
  await rm(RESULTS_DIR, { recursive: true, force: true })
  const child = spawn(path.join('node_modules', '.bin', 'tap'), process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: databaseUrl }
  })
  return await new Promise((resolve) => child.on('close', (code) => { resolve(code ?? 1) }))
}

interface Counts { passed: number, failed: number, skipped: number }

/** Counts the assertions of every file's results, the way tap's own "Asserts" summary does. */
async function countResults (): Promise<Counts> {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 }
  let files: string[] = []
  try {
    files = (await readdir(RESULTS_DIR, { recursive: true })).filter((file) => file.endsWith('.tap'))
  } catch {
    return counts
  }
  for (const file of files) {
    const parser = new Parser({ bail: false })
    const tally = (result: Result): void => {
      if (result.skip !== false || result.todo !== false) counts.skipped++
      else if (result.ok) counts.passed++
      else counts.failed++
    }
    // A subtest's own test point follows the completion of its child parser:
    // only leaf assertions are counted, as tap's summary does.
    const watch = (p: Parser): void => {
      let childJustCompleted = false
      p.on('child', (child: Parser) => {
        watch(child)
        child.on('complete', () => { childJustCompleted = true })
      })
      p.on('assert', (result: Result) => {
        if (childJustCompleted) childJustCompleted = false
        else tally(result)
      })
    }
    watch(parser)
    parser.end(await readFile(path.join(RESULTS_DIR, file), 'utf8'))
  }
  return counts
}

const code = await withTestDatabase(runTap)
const counts = await countResults()
process.stdout.write(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
process.exitCode = code
