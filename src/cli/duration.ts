// Durations as people write them on a command line: 90d, 24h, 30m, 45s, 2w.
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** Seconds in a duration like `90d`, or undefined when the text is not one. */
export function parseDuration (text: string): number | undefined {
  const match = /^(\d{1,9})([smhdw])$/.exec(text.trim())
  if (match === null) return undefined
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!
  return seconds > 0 ? seconds : undefined
}
