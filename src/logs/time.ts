// RFC 3339 times as Dates. The format allows leap seconds (23:59:60), which
// no Date, and so no stored log, can hold.
import { Errors } from '../errors.ts'
import { TIME_EXAMPLE } from '../schemas/validation-messages.ts'

/** The Date of an RFC 3339 time, or undefined when it names no real point in time. */
export function pointInTime (text: string): Date | undefined {
  const time = new Date(text)
  return Number.isNaN(time.getTime()) ? undefined : time
}

/** A time filter of the query string as a Date; a time that names no real point is a 400. */
export function timeFilter (value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined
  const time = pointInTime(value)
  if (time === undefined) {
    throw Errors.invalidRequest('querystring', `${name} must be a real point in time (not a leap second), such as ${TIME_EXAMPLE}.`)
  }
  return time
}
