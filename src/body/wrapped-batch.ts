// A batch wrapped in an object, `{"logs": [ …entries… ]}`, as pino-http-send
// and other log senders post one: read as the array it wraps. An object is
// such a batch when its first field is `logs` and holds an array; the
// wrapper may hold nothing else (an entry of ours never starts so).
import { Errors } from '../errors.ts'

/** The bytes before the first entry of a wrapped batch, within the first WRAPPER_PROBE_BYTES of a body. */
const WRAPPED_START = /^(?:\xef\xbb\xbf)?[ \t\r\n]*\{[ \t\r\n]*"logs"[ \t\r\n]*:[ \t\r\n]*\[/
const WRAPPER_PROBE_BYTES = 4096

/** The length of a wrapped batch's opening, up to and including its `[`; 0 when the body does not open one. */
export function wrappedBatchStart (body: Buffer): number {
  const match = WRAPPED_START.exec(body.toString('latin1', 0, WRAPPER_PROBE_BYTES))
  return match === null ? 0 : match[0].length
}

export function onlyLogsInWrapper (): Error {
  return Errors.invalidRequest('body', 'a batch wrapped as {"logs": [...]} may hold nothing besides "logs"')
}

/** The entries of a parsed wrapped batch; undefined for a value that is not one. */
export function wrappedEntries (value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  let entries: unknown[] | undefined
  // Only the first field decides; a parsed object's for…in visits its own fields, in order.
  for (const key in value) {
    if (entries !== undefined) throw onlyLogsInWrapper()
    const logs = (value as Record<string, unknown>).logs
    if (key !== 'logs' || !Array.isArray(logs)) return undefined
    entries = logs
  }
  return entries
}
