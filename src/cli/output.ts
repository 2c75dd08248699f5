// What a CLI command hands back: one JSON document for --json, text for people,
// and the exit code; and how either is made safe to print.
import { escapeUnprintable, escapeUnprintableJson } from '../text/unprintable.ts'

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

// Names, addresses and other text from the database or the environment may
// hold control characters (rows written before names refused them, addresses
// taken from X-Forwarded-For, a user name): printed raw they could erase a
// line, fake another, recolour the screen or retitle the window. So every
// such value is shown escaped (`shown`), newlines included, so that it cannot
// break a line either; and all output is escaped once more on its way out,
// keeping only the line breaks the commands write themselves.

/** A value for text output, every control, separator and bidirectional character escaped (`\x1b`, `\u202e`). */
export function shown (value: string): string {
  return escapeUnprintable(value)
}

/** Text output as it may reach a terminal: only the commands' own line breaks are left as they are. */
export function terminalText (text: string): string {
  return escapeUnprintable(text, '\n')
}

/** The --json document: JSON.stringify leaves C1 controls, DEL, U+2028/U+2029 and bidirectional characters raw; these are \u escapes. */
export function jsonText (value: unknown, indent?: number): string {
  return escapeUnprintableJson(JSON.stringify(value, null, indent))
}
