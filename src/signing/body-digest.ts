// The SHA-256 of a signed request's body as it came over the wire (before any
// decompression), which the signature covers. Registered before the
// decompressing body parser so that it sees the raw bytes; only requests that
// carry a signature pay for the hash.
import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the raw body of a signed request; null when no body was read. */
    bodySha256: string | null
  }
}

export default fp(async function bodyDigest (fastify) {
  fastify.decorateRequest('bodySha256', null)
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.headers['x-api-signature'] === undefined) {
      done(null, payload)
      return
    }
    const hash = createHash('sha256')
    const digesting = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        done(null, chunk)
      },
      flush (done) {
        request.bodySha256 = hash.digest('hex')
        done()
      }
    })
    payload.on('error', (error) => digesting.destroy(error))
    done(null, payload.pipe(digesting))
  })
}, { name: 'body-digest' })
