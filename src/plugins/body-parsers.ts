// Request bodies: gzip/deflate decompression (the size limit then applies to
// the decompressed bytes, which defeats zip bombs, and to the compressed bytes
// as they arrive, which defeats input that inflates to nothing), JSON and
// NDJSON read as they arrive, a piece at a time, held to the in-flight caps,
// scanned for their entries before any is parsed (src/body/read-entries.ts),
// and read as strict UTF-8 (bytes that are not would otherwise turn silently
// into U+FFFD and be stored so). The ingest route also takes what loggers
// send as they are: NDJSON without a Content-Type, and a form-encoded entry.
import type { Readable } from 'node:stream'
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib'
import { errorCodes, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { BodyHold } from '../body/in-flight.ts'
import { readBody, readBytes, ReceivedEntries, type Payload, type ReadOptions } from '../body/read-entries.ts'
import type { ScanMode } from '../body/entry-scanner.ts'
import { Errors } from '../errors.ts'
import { formEntry } from '../body/form-entry.ts'
import { ENTRY_MAX_BYTES } from '../logs/schemas.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes this request holds against the in-flight caps. */
    bodyHold: BodyHold | null
  }
  interface FastifyContextConfig {
    /**
     * The body is log entries: a JSON array is read element by element, at
     * most MAX_BATCH_ENTRIES of them, each held to MAX_ENTRY_FIELDS. Any other
     * route's JSON body is one value, held to MAX_ENTRY_FIELDS as a whole.
     */
    logEntries?: boolean
    /**
     * Most fields and array items a JSON body read whole may hold, counted at
     * every depth, for a route whose one JSON value holds many entries (an
     * OTLP request); MAX_ENTRY_FIELDS when unset.
     */
    maxBodyFields?: number
    /** The route takes `application/x-protobuf` bodies, handed to it as the bytes received; any other answers them 415. */
    protobufBody?: boolean
    /**
     * Content-Encodings the route undoes itself, on its protobuf bodies only
     * (Loki's `snappy`): such a body is handed on as it came, and the same
     * encoding on any other Content-Type is refused (415).
     */
    protobufEncodings?: readonly string[]
  }
}

function decompressorFor (encoding: string): Gunzip | Inflate | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip()
  if (encoding === 'deflate') return createInflate()
  return undefined
}

function isProtobuf (request: FastifyRequest): boolean {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === 'application/x-protobuf'
}

/** Reads no more of a body: the bytes still on their way are left unread until the connection closes. */
function stopReading (payload: Readable, decompressor: Gunzip | Inflate): void {
  payload.unpipe(decompressor)
  payload.pause()
}

export default fp(async function bodyParsers (fastify) {
  const { MAX_BATCH_ENTRIES, MAX_ENTRY_FIELDS } = fastify.config
  fastify.decorateRequest('bodyHold', null)

  async function read (request: FastifyRequest, payload: Payload, ndjson: boolean): Promise<unknown> {
    // Made afresh at every read: read once.
    const route = request.routeOptions
    const entries = route.config.logEntries === true
    const mode: ScanMode = ndjson ? 'ndjson' : entries ? 'entries' : 'whole'
    try {
      const body = await readBody(payload, {
        mode,
        maxEntries: MAX_BATCH_ENTRIES,
        maxFields: mode === 'whole' ? route.config.maxBodyFields ?? MAX_ENTRY_FIELDS : MAX_ENTRY_FIELDS,
        maxEntryBytes: ENTRY_MAX_BYTES,
        bodyLimit: route.bodyLimit,
        contentLength: Number(request.headers['content-length']),
        // Set by the preParsing hook below, which runs before any parser.
        hold: request.bodyHold
      })
      // Only the ingest route takes its entries one at a time; any other gets them parsed, as an array.
      return body instanceof ReceivedEntries && !entries ? await body.all() : body
    } catch (error) {
      // A body refused part way is read no further; a decompressor still inflating what arrives stops too.
      if (payload !== request.raw) payload.destroy()
      throw error
    }
  }

  fastify.addHook('preParsing', (request, reply, payload, done) => {
    request.bodyHold = fastify.bodyBytes.holdFor(request.ip, reply.raw)
    const encoding = request.headers['content-encoding']?.trim().toLowerCase()
    if (encoding === undefined || encoding === '' || encoding === 'identity') {
      done(null, payload)
      return
    }
    if (request.routeOptions.config.protobufEncodings?.includes(encoding) === true && isProtobuf(request)) {
      done(null, payload)
      return
    }
    const decompressor = decompressorFor(encoding)
    if (decompressor === undefined) {
      throw Errors.unsupportedContentEncoding(encoding)
    }
    // Content-Length is compared with the bytes received on the wire (src/body/read-entries.ts), counted here.
    const counted = decompressor as typeof decompressor & { receivedEncodedLength: number }
    counted.receivedEncodedLength = 0
    const limit = request.routeOptions.bodyLimit
    payload.on('data', function count (chunk: Buffer) {
      counted.receivedEncodedLength += chunk.length
      // Fastify checks the limit only when decompressed bytes come out, and
      // compressed input can yield none at all (empty deflate blocks): without
      // this, such a body would be read and inflated without end.
      if (counted.receivedEncodedLength > limit) {
        payload.removeListener('data', count)
        stopReading(payload, decompressor)
        decompressor.destroy(Errors.bodyTooLarge(limit))
      }
    })
    payload.on('error', (error) => decompressor.destroy(error))
    // The body parser listens for the decompressor's errors and answers 400,
    // but only while it reads: a body no parser reads (a GET's, one refused for
    // its Content-Type, the rest of one already over the size limit) would
    // otherwise raise an unhandled 'error' and stop the process.
    decompressor.on('error', () => {})
    done(null, payload.pipe(decompressor))
  })

  // Fastify reads text/plain by default; entries are JSON or NDJSON only, so it gets a 415.
  fastify.removeContentTypeParser('text/plain')

  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', (request: FastifyRequest, payload: Payload) => read(request, payload, false))
  fastify.addContentTypeParser('application/x-ndjson', (request: FastifyRequest, payload: Payload) => read(request, payload, true))
  /** The whole body as bytes, held to the route's limit and the in-flight caps like any other. */
  async function readWhole (request: FastifyRequest, payload: Payload): Promise<Buffer> {
    try {
      return await readBytes(payload, { bodyLimit: request.routeOptions.bodyLimit, contentLength: Number(request.headers['content-length']), hold: request.bodyHold })
    } catch (error) {
      if (payload !== request.raw) payload.destroy()
      throw error
    }
  }

  fastify.addContentTypeParser('application/x-protobuf', async (request: FastifyRequest, payload: Payload) => {
    if (request.routeOptions.config.protobufBody !== true) throw Errors.unsupportedMediaType()
    return await readWhole(request, payload)
  })

  // Python's logging.handlers.HTTPHandler posts one record, form-encoded: the ingest route takes it as one entry.
  const formLimits: Pick<ReadOptions, 'maxEntries' | 'maxFields' | 'maxEntryBytes'> = {
    maxEntries: MAX_BATCH_ENTRIES, maxFields: MAX_ENTRY_FIELDS, maxEntryBytes: ENTRY_MAX_BYTES
  }
  fastify.addContentTypeParser('application/x-www-form-urlencoded', async (request: FastifyRequest, payload: Payload) => {
    if (request.routeOptions.config.logEntries !== true) throw new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE()
    return ReceivedEntries.parsed([formEntry(await readWhole(request, payload), formLimits)], true, formLimits)
  })

  // Fastify hands this parser a body sent without a Content-Type, and one of
  // a type no parser above takes. Log senders that post NDJSON often name no
  // type (pino-http-send does not): the ingest route reads such a body as
  // NDJSON. Any other, and any other type, is a 415, as it was without this parser.
  fastify.addContentTypeParser('*', async (request: FastifyRequest, payload: Payload) => {
    if (request.headers['content-type'] === undefined && request.routeOptions.config.logEntries === true) return await read(request, payload, true)
    // No route: the 404 answers, the body unread.
    if (request.is404) return undefined
    throw new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE()
  })
}, { name: 'body-parsers', dependencies: ['env', 'body-bytes'] })
