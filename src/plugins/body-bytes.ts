// The bytes of request bodies in flight, per address and in all
// (src/body/in-flight.ts), as app.bodyBytes: the body parsers take from it,
// and a response that closes gives back what its request took.
import fp from 'fastify-plugin'
import { InFlightBytes } from '../body/in-flight.ts'

declare module 'fastify' {
  interface FastifyInstance {
    bodyBytes: InFlightBytes
  }
}

export default fp(async function bodyBytes (fastify) {
  fastify.decorate('bodyBytes', new InFlightBytes({
    perAddress: fastify.config.MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS,
    total: fastify.config.MAX_INFLIGHT_BODY_BYTES,
    retryAfterSeconds: fastify.config.RETRY_AFTER_SECONDS
  }))
}, { name: 'body-bytes', dependencies: ['env'] })
