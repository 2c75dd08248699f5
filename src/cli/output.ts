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

/**
 * Well-formed, but names nothing that exists (a client name): exit code 1,
 * like a key id that is no key's, since the command line itself was right.
 */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

export function when (date: Date | null, none = 'never'): string {
  return date === null ? none : date.toISOString()
}
