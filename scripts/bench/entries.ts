// The log entries every figure of the benchmark sends or copies: ordinary
// run logs, as a scheduler would post them.
export function entries (count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    environment: 'production',
    executed_at: new Date(Date.UTC(2026, 10, 26, 10, 0, 0, i)).toISOString(),
    status: i % 10 === 0 ? 'FAILURE' : 'SUCCESS',
    level: 'info',
    workflow_id: `wf-${i % 20}`,
    run_id: `run-${i}`,
    message: `step ${i} finished after processing 1200 rows`,
    duration_ms: i * 3
  }))
}

/** The request body: one entry as an object, more as an array. */
export function body (count: number): string {
  return count === 1 ? JSON.stringify(entries(1)[0]) : JSON.stringify(entries(count))
}
