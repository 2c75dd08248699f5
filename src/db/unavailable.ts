// Tells a database that cannot serve the request now (answer 503, the client
// retries) from a bug (500): unreachable, restarting, out of connections, or
// up but refusing writes (read-only, out of disk or memory).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN'])

// SQLSTATE 57P01-57P03 (shutdown, cannot connect now); 25006: a read-only
// transaction was asked to write (default_transaction_read_only set for the
// server or the database, or a standby after a failover pointed writes at it).
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '25006'])

export function isDatabaseUnavailable (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true
    // Class 08 (connection exception) and class 53, insufficient resources:
    // disk full (53100), out of memory (53200), too many connections (53300).
    if (code.startsWith('08') || code.startsWith('53') || UNAVAILABLE_STATES.has(code)) return true
  }
  // pg reports these without a code.
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(error.message)) return true
  return error.cause !== undefined && isDatabaseUnavailable(error.cause)
}
