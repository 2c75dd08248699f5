// Baseline for the benchmark, run as a process of its own: a bare Fastify
// route that parses the same body with Fastify's JSON parser and answers 201
// with a small JSON, without authentication, checks or storage. Prints its
// port on stdout once listening.
import Fastify from 'fastify'

// As large a body as the service takes (MAX_BODY_BYTES), rather than Fastify's 1 MiB.
const app = Fastify({ bodyLimit: 5 * 1024 * 1024 })
app.post('/', async (request, reply) => {
  const accepted = Array.isArray(request.body) ? request.body.length : 1
  return await reply.code(201).send({ accepted })
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port')
process.stdout.write(`${address.port}\n`)
