// A form-encoded body (application/x-www-form-urlencoded) as one log entry,
// every value text: what Python's logging.handlers.HTTPHandler posts, the
// attributes of a LogRecord (msg, levelname, created, name, lineno, …).
// Decoded strictly, as JSON is read: percent-encoding that is not UTF-8 is
// refused rather than stored as U+FFFD, and the entry is held to the limits
// of a JSON entry before anything is built from it.
import { isUtf8 } from 'node:buffer'
import { Errors } from '../errors.ts'
import { RefusedEntry } from '../logs/validate.ts'
import type { ScanLimits } from './entry-scanner.ts'

const AMPERSAND = 0x26

/**
 * The entry a form body holds: each field once as its text, a field given
 * more than once as the list of its values; a RefusedEntry when it takes more
 * bytes or fields than an entry may.
 */
export function formEntry (body: Buffer, limits: Pick<ScanLimits, 'maxFields' | 'maxEntryBytes'>): Record<string, unknown> | RefusedEntry {
  if (body.length === 0) throw Errors.emptyBody()
  if (body.length > limits.maxEntryBytes) {
    return new RefusedEntry('too_large', `takes ${body.length} bytes of form-encoded text; an entry may take at most ${limits.maxEntryBytes}`)
  }
  if (!isUtf8(body)) throw Errors.invalidFormEncoding()
  // No prototype: a field named like an Object method is just a field.
  const entry: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  let fields = 0
  for (let start = 0; start < body.length;) {
    const end = body.indexOf(AMPERSAND, start)
    const stop = end === -1 ? body.length : end
    if (stop > start) {
      if (++fields > limits.maxFields) {
        return new RefusedEntry('too_many_fields', `holds more than ${limits.maxFields} form fields, the most an entry may hold`)
      }
      const pair = body.toString('utf8', start, stop)
      const equals = pair.indexOf('=')
      const name = decoded(equals === -1 ? pair : pair.slice(0, equals))
      const value = equals === -1 ? '' : decoded(pair.slice(equals + 1))
      // A parsed JSON body refuses it too: it would set the prototype of the attributes it is copied into.
      if (name === '__proto__') throw Errors.invalidRequest('body', 'a form field may not be named __proto__')
      const before = entry[name]
      entry[name] = before === undefined ? value : Array.isArray(before) ? [...before as string[], value] : [before, value]
    }
    start = stop + 1
  }
  // Copied onto a plain object, which is what every other intake hands on.
  return { ...entry }
}

/** A name or value as sent: `+` is a space, %XX a byte of UTF-8. */
function decoded (text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    throw Errors.invalidFormEncoding()
  }
}
