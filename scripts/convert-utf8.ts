// `npm run convert-utf8`: moves the embedded PostgreSQL's database from
// SQL_ASCII (made by earlier versions when LANG was unset) to UTF-8, keeping
// every row. Run it with the service stopped (see src/db/convert-utf8.ts).
import { loadConfig } from '../src/config.ts'
import { closeOnInterrupt } from '../src/cli/close-on-interrupt.ts'
import { convertEmbeddedToUtf8 } from '../src/db/convert-utf8.ts'
import { openEmbeddedPostgres } from '../src/db/embedded.ts'

const config = loadConfig()
if ((config.DATABASE_URL ?? '') !== '') {
  process.stderr.write('DATABASE_URL is set: this converts only the embedded PostgreSQL under DATA_DIR. ' +
    'For a database of your own, see "UTF-8" under Operations in the README.\n')
  process.exitCode = 2
} else {
  try {
    const server = await openEmbeddedPostgres({ dataDir: config.DATA_DIR, port: 0 })
    // Interrupted, the copy's transaction is rolled back with the server's stop; running this again starts it over.
    const disarm = closeOnInterrupt(server.stop)
    try {
      await convertEmbeddedToUtf8(server, config.DATA_DIR, (line) => { process.stdout.write(`${line}\n`) })
    } finally {
      disarm()
      await server.stop()
    }
  } catch (error) {
    process.stderr.write(`The conversion failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  }
}
