// What a CLI command hands back: one JSON document for --json, text for people,
// and the exit code.
export interface CommandResult {
  json: unknown
  text: string
  exitCode?: number
}

/** Bad usage or input: the message goes to stderr and the exit code is 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function when (date: Date | null, none = 'never'): string {
  return date === null ? none : date.toISOString()
}
