// Databases made and dropped on a PostgreSQL server, through a superuser URL,
// for the test suite's template and its tests' databases, and the bench.
import pg from 'pg'

/** Runs one statement (CREATE or DROP DATABASE) on the server of `adminUrl`, on a connection of its own. */
export async function onServer (adminUrl: string, statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(statement)
  } finally {
    await admin.end()
  }
}

/** Runs `work` on a connection of its own to the database at `url`, closed after it. */
export async function onDatabase<T> (url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** The URL of another database on the same server, as the same user. */
export function databaseUrl (adminUrl: string, name: string): string {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}
