// RFC 3339 times as Dates. The format allows leap seconds (23:59:60), which
// no Date, and so no stored log, can hold.

/** The Date of an RFC 3339 time, or undefined when it names no real point in time. */
export function pointInTime (text: string): Date | undefined {
  const time = new Date(text)
  return Number.isNaN(time.getTime()) ? undefined : time
}
