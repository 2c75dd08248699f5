// Short-lived processes that started an embedded PostgreSQL (a CLI command,
// the test runner, the benchmark) still stop it when interrupted with Ctrl-C
// or SIGTERM, instead of leaving it running.
/** Runs `close` and exits 130 on SIGINT/SIGTERM; returns the function that disarms this. */
export function closeOnInterrupt (close: () => Promise<void>): () => void {
  const interrupted = (): void => { void close().finally(() => process.exit(130)) }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  return () => {
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
  }
}
