// Ingest budgets count per clock minute: a test that needs one minute
// throughout does not start at its very end.
import { setTimeout } from 'node:timers/promises'
import { INGEST_WINDOW_MS } from '../../src/logs/ingest-budget.ts'

export async function clearOfMinuteEnd (): Promise<void> {
  const intoMinute = Date.now() % INGEST_WINDOW_MS
  if (intoMinute > INGEST_WINDOW_MS - 15_000) await setTimeout(INGEST_WINDOW_MS - intoMinute + 100)
}
