// A client that asks before sending its body (`Expect: 100-continue`, which
// curl sends for bodies over 1 MiB) is told to go ahead only once its request
// has passed authentication: a refused request never sends its body at all.
// Node.js answers 100 Continue by itself the moment the headers arrive, unless
// the server listens for 'checkContinue'; this listens, passes the request on
// as usual, and answers 100 Continue in the first hook that comes after
// authentication and before the body is read.
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

export default fp(async function expectContinue (fastify) {
  const awaiting = new WeakSet<IncomingMessage>()
  const server = fastify.server
  server.on('checkContinue', (request, response) => {
    awaiting.add(request)
    server.emit('request', request, response)
  })
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    if (awaiting.delete(request.raw) && !reply.raw.headersSent) reply.raw.writeContinue()
    done(null, payload)
  })
}, { name: 'expect-continue' })
