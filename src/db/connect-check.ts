// The first connection of a start, for the service and the CLI alike: when it
// fails, the error names the setting to look at (DATABASE_URL, with its user,
// host, port and database but never its password, or the embedded PostgreSQL)
// and what to check, instead of surfacing later as a failed migration.
import { sql, type Kysely } from 'kysely'
import { errorSummary } from './error-summary.ts'

export interface DatabaseTarget {
  url: string
  /** The DATA_DIR of the embedded PostgreSQL, when that is what `url` points at. */
  embeddedDataDir?: string
  connectTimeoutMs: number
}

export async function assertConnects<T> (db: Kysely<T>, target: DatabaseTarget): Promise<void> {
  try {
    await sql`select 1`.execute(db)
  } catch (error) {
    throw new Error(connectFailure(error, target), { cause: error })
  }
}

/** The connection string as it may be shown: no password, no query parameters (which can hold one). */
export function shownUrl (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return '(a value that does not parse as a URL)'
  }
  const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`
  const host = parsed.hostname === '' ? 'localhost' : parsed.hostname
  const port = parsed.port === '' ? '5432' : parsed.port
  return `${parsed.protocol}//${user}${host}:${port}${parsed.pathname}`
}

function connectFailure (error: unknown, target: DatabaseTarget): string {
  const { code, message } = errorSummary(error)
  const where = target.embeddedDataDir === undefined
    ? `the database at DATABASE_URL ${shownUrl(target.url)}`
    : `the embedded PostgreSQL of DATA_DIR ${target.embeddedDataDir} (${shownUrl(target.url)})`
  return `Could not connect to ${where}: ${message}${code === undefined || message.includes(code) ? '' : ` (${code})`}. ` +
    advice(code, message, target)
}

function advice (code: string | undefined, message: string, target: DatabaseTarget): string {
  if (target.embeddedDataDir !== undefined) {
    return 'It was started, or found running, on that directory: LOG_LEVEL=debug shows its own output.'
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'Nothing accepts connections there: check that PostgreSQL is running and listens on that host and port, or correct DATABASE_URL.'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'The host name does not resolve: check the host in DATABASE_URL.'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'That host cannot be reached from here: check the host in DATABASE_URL and the network.'
    case '28P01':
    case '28000':
      return 'PostgreSQL refused the login: check the user and password in DATABASE_URL, and that pg_hba.conf admits this user from this address.'
    case '3D000':
      return 'The database does not exist: create it (CREATE DATABASE), or correct its name in DATABASE_URL.'
    case '53300':
    case '57P03':
      return 'PostgreSQL is not accepting more connections right now (starting, shutting down, or at max_connections): try again, or lower DB_POOL_MAX.'
  }
  // pg reports a connection that got no answer in time as "terminated" too.
  if (/timeout|timed out|terminated/i.test(message) || code === 'ETIMEDOUT') {
    return `No answer from PostgreSQL within DB_CONNECT_TIMEOUT_MS (${target.connectTimeoutMs} ms), or the connection was cut: ` +
      'check the host and port in DATABASE_URL, that what listens there is PostgreSQL, and that no firewall drops the connection.'
  }
  if (/SSL|TLS|certificate/i.test(message)) {
    return 'The encrypted connection failed: check sslmode and the certificates named in DATABASE_URL, and what the server accepts.'
  }
  return 'Check DATABASE_URL.'
}
