// `npm test`: runs the tap suite against TEST_DATABASE_URL, or, when it is
// unset, against an embedded PostgreSQL started for the run and removed after.
// Test databases are copies of one migrated template made for the run.
// Ends with one line, "N passed, N failed, N skipped", counted from tap's
// results of every test file.
import { spawn } from 'node:child_process'
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { Parser, type Result } from 'tap-parser'
import { withMigratedTemplate } from './lib/migrated-template.ts'
import { withThrowawayPostgres } from './lib/throwaway-postgres.ts'

const RESULTS_DIR = '.tap/test-results'

async function withTestDatabase<T> (run: (url: string) => Promise<T>): Promise<T> {
  const given = process.env.TEST_DATABASE_URL
  if (given !== undefined && given !== '') return await run(given)
  process.stderr.write('TEST_DATABASE_URL is not set: the suite runs on a throw-away embedded PostgreSQL.\n')
  return await withThrowawayPostgres('test', run)
}

async function runTap (databaseUrl: string, template: string): Promise<number> {
  await rm(RESULTS_DIR, { recursive: true, force: true })
  const child = spawn(path.join('node_modules', '.bin', 'tap'), process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_TEMPLATE_DATABASE: template }
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

const code = await withTestDatabase(async (url) => await withMigratedTemplate(url, async (template) => await runTap(url, template)))
const counts = await countResults()
process.stdout.write(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
process.exitCode = code
