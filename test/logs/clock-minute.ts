// Ingest budgets count per clock minute: a test that needs one minute
// throughout gives the app a clock shifted to just after a minute begins,
// running at the real pace, rather than wait for a real minute to begin.
import { INGEST_WINDOW_MS } from '../../src/logs/ingest-budget.ts'

/** The time a second into the next minute, going on from there as Date.now does. */
export function minuteStartClock (): () => number {
  const shift = INGEST_WINDOW_MS - (Date.now() % INGEST_WINDOW_MS) + 1000
  return () => Date.now() + shift
}
