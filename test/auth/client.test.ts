import t from 'tap'
import Fastify from 'fastify'
import { clientOf } from '../../src/auth/client.ts'
import type { AuthenticatedClient } from '../../src/auth/resolver.ts'

void t.test('clientOf gives the authenticated client, and refuses to invent one outside the authenticated scope', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  app.decorateRequest('client', null)
  const client = { id: 'c1' } as AuthenticatedClient
  app.get('/inside', { preHandler: (request, _reply, done) => { request.client = client; done() } }, async (request) => ({ id: clientOf(request).id }))
  app.get('/outside', async (request) => ({ id: clientOf(request).id }))
  t.same((await app.inject('/inside')).json(), { id: 'c1' })
  const outside = await app.inject('/outside')
  t.equal(outside.statusCode, 500, 'a route that asks without authentication is our mistake, never another client')
  t.match(outside.json<{ message: string }>().message, /no authenticated client for GET \/outside/)
})
