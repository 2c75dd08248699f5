// The CLI's database: the service's own, shared with a running service or
// started just for the command. An interrupted command still stops a server
// it started.
import type { Config } from '../config.ts'
import { openDatabase, type OpenDatabase } from '../db/open.ts'

export async function openCliDatabase (config: Config): Promise<OpenDatabase> {
  const verbose = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace'
  const database = await openDatabase(config, {
    poolMax: 2,
    onPostgresLog: verbose ? (line) => process.stderr.write(line) : undefined
  })
  const interrupted = (): void => {
    void database.close().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  return {
    ...database,
    close: async () => {
      process.off('SIGINT', interrupted)
      process.off('SIGTERM', interrupted)
      await database.close()
    }
  }
}
