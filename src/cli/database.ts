// The CLI's database: the service's own, shared with a running service or
// started just for the command. An interrupted command still stops a server
// it started.
import type { Config } from '../config.ts'
import { openDatabase, type OpenDatabase } from '../db/open.ts'
import { closeOnInterrupt } from './close-on-interrupt.ts'

export async function openCliDatabase (config: Config): Promise<OpenDatabase> {
  const verbose = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace'
  const database = await openDatabase(config, {
    poolMax: 2,
    onPostgresLog: verbose ? (line) => process.stderr.write(line) : undefined
  })
  const disarm = closeOnInterrupt(database.close)
  return {
    ...database,
    close: async () => {
      disarm()
      await database.close()
    }
  }
}
