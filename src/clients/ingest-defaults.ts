// The rule for a client's defaults for environment and status, whoever sets
// them (the CLI, PATCH /api/v1/client): what a native entry could hold, as
// stored (a status upper-cased), and one line of printable text, since the
// provider's terminal shows them.
import { unprintableProblem, type TextProblem } from '../text/unprintable.ts'

export const DEFAULT_MAX_LENGTH = { environment: 64, status: 32 } as const

export type DefaultField = keyof typeof DEFAULT_MAX_LENGTH

/** The value as stored: a status upper-cased, as logs store it. */
export function storedDefault (field: DefaultField, text: string): string {
  return field === 'status' ? text.toUpperCase() : text
}

/** Why this stored value cannot be the default, or undefined when it can. */
export function defaultProblem (field: DefaultField, stored: string): TextProblem | undefined {
  const length = [...stored].length
  const max = DEFAULT_MAX_LENGTH[field]
  if (length === 0) return { problem: 'is empty' }
  if (length > max) return { problem: `is ${length} characters long${field === 'status' ? ' once upper-cased' : ''}; at most ${max} are allowed` }
  return unprintableProblem(stored)
}
