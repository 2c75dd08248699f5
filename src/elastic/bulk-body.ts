// The body of a bulk request, read as its lines whatever JSON media type it
// is sent as: Elasticsearch clients send NDJSON as application/x-ndjson,
// application/json, or their vendor types. It is read as every body is
// (src/body/read-entries.ts): held to the body limit after decompression and
// to the in-flight caps, scanned line by line as it arrives, each line held
// to the fields and bytes an entry may take, and parsed only when asked for.
import type { FastifyRequest } from 'fastify'
import { readBody, type Payload, type ReceivedEntries } from '../body/read-entries.ts'
import { Errors, HttpError } from '../errors.ts'
import { ENTRY_MAX_BYTES } from '../logs/schemas.ts'

/** The media types a bulk body comes as; the vendor types carry `compatible-with=8` or `9`, which changes nothing here. */
export const BULK_MEDIA_TYPES = [
  'application/x-ndjson',
  'application/json',
  'application/vnd.elasticsearch+x-ndjson',
  'application/vnd.elasticsearch+json'
]

export interface BulkLimits {
  /** Most documents in one request. */
  maxDocuments: number
  /** Most fields and array items one line may hold. */
  maxFields: number
}

/**
 * The lines of the body. At most two lines a document are read: a body with
 * more holds more documents than allowed, and is refused as such (413) at
 * the first line past them, before the rest is read.
 */
export async function readBulkLines (request: FastifyRequest, payload: Payload, limits: BulkLimits): Promise<ReceivedEntries> {
  const maxLines = 2 * limits.maxDocuments
  try {
    return await readBody(payload, {
      mode: 'ndjson',
      maxEntries: maxLines,
      maxFields: limits.maxFields,
      maxEntryBytes: ENTRY_MAX_BYTES,
      bodyLimit: request.routeOptions.bodyLimit,
      contentLength: Number(request.headers['content-length']),
      hold: request.bodyHold
    }) as ReceivedEntries
  } catch (error) {
    // A body refused part way is read no further; a decompressor still inflating what arrives stops too.
    if (payload !== request.raw) payload.destroy()
    if (error instanceof HttpError && error.code === 'too_many_entries') throw Errors.tooManyEntries(limits.maxDocuments)
    throw error
  }
}
