// Characters that must never reach a person's terminal as they are, and the
// rule that keeps them out of names: C0 and C1 control characters (ESC and
// CSI start the sequences that move the cursor, erase lines, recolour text
// and retitle the window; CR returns to the start of the line), DEL, the line
// and paragraph separators, and the bidirectional embeddings, overrides and
// isolates, which reorder what is shown so that one text passes for another.

// C0 apart from the rest: JSON.stringify escapes C0 itself, and leaves the rest raw.
const BEYOND_C0 = '\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069'
const ONE = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`, 'u')
const EVERY = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`, 'gu')
const EVERY_BEYOND_C0 = new RegExp(`[${BEYOND_C0}]`, 'gu')

/** The rule, as messages state it. */
export const UNPRINTABLE_RULE = 'control characters (U+0000–U+001F, U+007F–U+009F), line and paragraph separators ' +
  '(U+2028, U+2029) and bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069)'

/** `U+001B` */
export function codePointName (char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
}

function kindOf (char: string): string {
  const code = char.codePointAt(0)!
  if (code <= 0x9f) return 'a control character'
  if (code === 0x2028 || code === 0x2029) return 'a line or paragraph separator'
  return 'a bidirectional formatting character'
}

export interface TextProblem {
  /** What is wrong, said of the text: "holds U+001B (a control character) at character 3". */
  problem: string
  /** The offending character, as U+XXXX; absent for text that is not valid Unicode. */
  character?: string
  /** Its position, counted in characters from 1. */
  position?: number
}

/**
 * Why this text cannot be shown to a person as it is, or undefined when it
 * can: it holds one of the characters above, or an unpaired surrogate (not
 * Unicode at all, and not storable in PostgreSQL).
 */
export function unprintableProblem (text: string): TextProblem | undefined {
  if (!text.isWellFormed()) return { problem: 'holds an unpaired surrogate: it is not valid Unicode' }
  const match = ONE.exec(text)
  if (match === null) return undefined
  const char = match[0]
  const position = [...text.slice(0, match.index)].length + 1
  const character = codePointName(char)
  return { problem: `holds ${character} (${kindOf(char)}) at character ${position}`, character, position }
}

/**
 * The text with each of those characters written as a visible escape
 * (`\x1b`, `\x9b`, `\u202e`), except the ones in `keep`.
 */
export function escapeUnprintable (text: string, keep = ''): string {
  return text.replace(EVERY, (char) => {
    if (keep.includes(char)) return char
    const code = char.codePointAt(0)!
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** In JSON text, the same characters as `\u` escapes: the document means exactly the same, and shows none of them raw. */
export function escapeUnprintableJson (json: string): string {
  // JSON.stringify escapes C0 already (a raw newline there is the layout's);
  // the others it leaves raw can only stand inside strings, where \u escapes mean the same.
  return json.replace(EVERY_BEYOND_C0, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`)
}
