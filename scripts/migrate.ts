// `npm run migrate`: apply pending migrations to DATABASE_URL or the embedded PostgreSQL.
import { loadConfig } from '../src/config.ts'
import { openCliDatabase } from '../src/cli/database.ts'

try {
  const database = await openCliDatabase(loadConfig())
  await database.close()
  process.stdout.write(database.applied.length === 0
    ? 'The schema is up to date.\n'
    : `Applied: ${database.applied.join(', ')}\n`)
} catch (error) {
  process.stderr.write(`Migration failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
