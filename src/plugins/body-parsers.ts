// Request bodies beyond plain JSON: gzip/deflate decompression (the size limit
// then applies to the decompressed bytes, which defeats zip bombs) and NDJSON.
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib'
import fp from 'fastify-plugin'
import secureJson from 'secure-json-parse'
import { HttpError } from '../errors.ts'
import { UnparsableLine } from '../logs/validate.ts'

function decompressorFor (encoding: string): Gunzip | Inflate | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip()
  if (encoding === 'deflate') return createInflate()
  return undefined
}

/** Parses NDJSON; a line that is not JSON becomes an UnparsableLine so it is reported by its index. */
export function parseNdjson (text: string): unknown[] {
  const entries: unknown[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? ''
    if (line === '') continue
    try {
      // Same protection as Fastify's JSON parser: __proto__ and constructor.prototype are refused.
      entries.push(secureJson.parse(line, undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch (error) {
      entries.push(new UnparsableLine(i + 1, error instanceof Error ? error.message : String(error)))
    }
  }
  return entries
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
    payload.on('data', (chunk: Buffer) => { counted.receivedEncodedLength += chunk.length })
    payload.on('error', (error) => decompressor.destroy(error))
    return payload.pipe(decompressor)
  })

  // Fastify reads text/plain by default; entries are JSON or NDJSON only, so it gets a 415.
  fastify.removeContentTypeParser('text/plain')

  fastify.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseNdjson(body as string))
  })
}, { name: 'body-parsers' })
