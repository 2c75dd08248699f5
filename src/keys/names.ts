// A key's name: a label for people, shown in the tenant's key listings and the
// provider's terminal, so one line of printable text, whoever sets it.
import { unprintableProblem, type TextProblem } from '../text/unprintable.ts'

export const KEY_NAME_MAX = 128

/** Why this cannot be a key's name, or undefined when it can. */
export function keyNameProblem (name: string): TextProblem | undefined {
  const length = [...name].length
  if (length === 0) return { problem: 'is empty' }
  if (length > KEY_NAME_MAX) return { problem: `is ${length} characters long; at most ${KEY_NAME_MAX} are allowed` }
  return unprintableProblem(name)
}
