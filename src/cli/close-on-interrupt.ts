// Short-lived processes that started an embedded PostgreSQL (a CLI command,
// the test runner, the benchmark) still stop it when interrupted with Ctrl-C
// or SIGTERM: the server runs in a session of its own, out of the terminal's
// reach, so nothing else would.
/** Runs `close` and exits 130 on SIGINT/SIGTERM; returns the function that disarms this. */
export function closeOnInterrupt (close: () => Promise<void>): () => void {
  let closing = false
  const interrupted = (): void => {
    // Under npm a Ctrl-C arrives twice (from the terminal, and passed on by
    // npm): the second must not cut the close short.
    if (closing) return
    closing = true
    void close().catch(() => {}).finally(() => process.exit(130))
  }
  process.on('SIGINT', interrupted)
  process.on('SIGTERM', interrupted)
  return () => {
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
  }
}
