// A PostgreSQL for one run of the test suite or the benchmark: the embedded
// server in a temporary directory, removed afterwards, also when the run is
// interrupted.
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { closeOnInterrupt } from '../../src/cli/close-on-interrupt.ts'
import { openEmbeddedPostgres } from '../../src/db/embedded.ts'

/** Runs `work` with the URL of a superuser connection to a throw-away PostgreSQL. */
export async function withThrowawayPostgres<T> (purpose: string, work: (url: string) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `central-logger-${purpose}-`))
  // As root, PostgreSQL runs as the `postgres` user, which must reach this directory.
  await chmod(dataDir, 0o755)
  const server = await openEmbeddedPostgres({ dataDir, port: 0 })
  const cleanUp = async (): Promise<void> => {
    await server.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
  const disarm = closeOnInterrupt(cleanUp)
  try {
    return await work(server.url)
  } finally {
    disarm()
    await cleanUp()
  }
}
