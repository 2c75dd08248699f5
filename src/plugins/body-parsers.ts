// Request bodies: gzip/deflate decompression (the size limit then applies to
// the decompressed bytes, which defeats zip bombs, and to the compressed bytes
// as they arrive, which defeats input that inflates to nothing), JSON and
// NDJSON read as strict UTF-8 (bytes that are not would otherwise turn
// silently into U+FFFD and be stored so).
import { isUtf8 } from 'node:buffer'
import type { Readable } from 'node:stream'
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib'
import { errorCodes, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import secureJson from 'secure-json-parse'
import { Errors, HttpError } from '../errors.ts'
import { UnparsableLine } from '../logs/validate.ts'

function decompressorFor (encoding: string): Gunzip | Inflate | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip()
  if (encoding === 'deflate') return createInflate()
  return undefined
}

/** Reads no more of a body: the bytes still on their way are left unread until the connection closes. */
function stopReading (payload: Readable, decompressor: Gunzip | Inflate): void {
  payload.unpipe(decompressor)
  payload.pause()
}

const POISON_CHECKS = { protoAction: 'error', constructorAction: 'error' } as const

/** The lines of a body, split on the newline byte, which never occurs inside a UTF-8 multi-byte character. */
function linesOf (body: Buffer): Buffer[] {
  const lines: Buffer[] = []
  let start = 0
  for (let end = body.indexOf(0x0a); end !== -1; end = body.indexOf(0x0a, start)) {
    lines.push(body.subarray(start, end))
    start = end + 1
  }
  lines.push(body.subarray(start))
  return lines
}

/**
 * Parses NDJSON; a line that is not JSON, or not UTF-8, becomes an
 * UnparsableLine so it is reported by its index like any other bad entry.
 */
export function parseNdjson (body: Buffer): unknown[] {
  const entries: unknown[] = []
  const lines = linesOf(body)
  for (let i = 0; i < lines.length; i++) {
    const bytes = lines[i]!
    if (!isUtf8(bytes)) {
      entries.push(new UnparsableLine(i + 1, 'it is not valid UTF-8'))
      continue
    }
    const line = bytes.toString('utf8').trim()
    if (line === '') continue
    try {
      // Same protection as Fastify's JSON parser: __proto__ and constructor.prototype are refused.
      entries.push(secureJson.parse(line, undefined, POISON_CHECKS))
    } catch (error) {
      entries.push(new UnparsableLine(i + 1, error instanceof Error ? error.message : String(error)))
    }
  }
  return entries
}

/** Fastify's own JSON parsing (same errors, same prototype-poisoning checks), refusing bytes that are not UTF-8. */
function parseJson (body: Buffer): unknown {
  if (body.length === 0) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY()
  if (!isUtf8(body)) throw new HttpError(400, 'invalid_encoding', 'The body is not valid UTF-8, which JSON must be.')
  try {
    return secureJson.parse(body.toString('utf8'), undefined, POISON_CHECKS)
  } catch {
    throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
  }
}

export default fp(async function bodyParsers (fastify) {
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase()
    if (encoding === undefined || encoding === '' || encoding === 'identity') return payload
    const decompressor = decompressorFor(encoding)
    if (decompressor === undefined) {
      throw new HttpError(415, 'unsupported_content_encoding',
        `Unsupported Content-Encoding "${encoding}": send gzip, deflate or an uncompressed body.`)
    }
    // Fastify compares Content-Length with the bytes received on the wire, which it reads here.
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
    return payload.pipe(decompressor)
  })

  // Fastify reads text/plain by default; entries are JSON or NDJSON only, so it gets a 415.
  fastify.removeContentTypeParser('text/plain')

  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, async (_request: FastifyRequest, body: Buffer) => parseJson(body))
  fastify.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer' }, async (_request: FastifyRequest, body: Buffer) => parseNdjson(body))
}, { name: 'body-parsers' })
