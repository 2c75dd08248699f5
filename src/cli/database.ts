// The CLI's database: the service's own, shared with a running service or
// started just for the command. An interrupted command still stops a server
// it started, also one interrupted while the server was starting.
import type { Config } from '../config.ts'
import { openDatabase, type OpenDatabase } from '../db/open.ts'
import { closeOnInterrupt } from './close-on-interrupt.ts'

export async function openCliDatabase (config: Config): Promise<OpenDatabase> {
  const verbose = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace'
  const opening = openDatabase(config, {
    poolMax: 2,
    onPostgresLog: verbose ? (line) => process.stderr.write(line) : undefined
  })
  // Armed before the open ends: a Ctrl-C during it waits for the open, then closes.
  const disarm = closeOnInterrupt(async () => { await (await opening).close() })
  let database: OpenDatabase
  try {
    database = await opening
  } catch (error) {
    disarm()
    throw error
  }
  return {
    ...database,
    close: async () => {
      disarm()
      await database.close()
    }
  }
}
