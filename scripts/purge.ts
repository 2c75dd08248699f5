// `npm run purge`: delete every client's expired logs now, as the service does
// every PURGE_INTERVAL_MS, on DATABASE_URL or the embedded PostgreSQL. For a
// cron job beside PURGE_INTERVAL_MS=0. Prints what it deleted per client.
import { loadConfig } from '../src/config.ts'
import { openCliDatabase } from '../src/cli/database.ts'
import { purgeExpired } from '../src/retention/purge.ts'

try {
  const config = loadConfig()
  const database = await openCliDatabase(config)
  try {
    const result = await purgeExpired(database.db, { defaultDays: config.RETENTION_DAYS, batchRows: config.PURGE_BATCH_ROWS })
    if (result === undefined) {
      process.stdout.write('Another process (a running instance) is deleting expired logs now; nothing was done.\n')
    } else if (result.deleted === 0) {
      process.stdout.write('No log has expired.\n')
    } else {
      for (const client of result.clients) {
        process.stdout.write(`${client.name}: ${client.deleted} logs from before ${client.before.toISOString()} deleted (${client.bytes} bytes).\n`)
      }
      process.stdout.write(`${result.deleted} expired logs deleted.\n`)
    }
  } finally {
    await database.close()
  }
} catch (error) {
  process.stderr.write(`Purge failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
