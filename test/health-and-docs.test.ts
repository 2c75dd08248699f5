// The service's own routes: health and readiness, and its documentation
// (OpenAPI from the route schemas, the error codes).
import t from 'tap'
import { buildTestApp } from './helper.ts'
import { readFileSync } from 'node:fs'
import { ERROR_CODES } from '../src/errors.ts'

void t.test('health and readiness need no key', async (t) => {
  const { app } = await buildTestApp(t)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })
})

void t.test('OpenAPI is generated from the route schemas', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(response.statusCode, 200)
  const spec = response.json<{ openapi: string, paths: Record<string, Record<string, { security?: unknown, responses: Record<string, unknown> }>> }>()
  t.match(spec.openapi, /^3\./)
  const ingest = spec.paths['/api/v1/logs']?.post
  t.ok(ingest, 'POST /api/v1/logs is documented')
  t.ok(ingest?.responses['201'], 'with its 201 answer')
  t.ok(ingest?.responses['413'], 'and its 413')
  t.ok(ingest?.security, 'and the key it needs')
  t.ok(ingest?.responses['429'], 'and its 429 (rate and ingest volume limits)')
  t.match(JSON.stringify(ingest?.security), /signature/, 'signing is one way to authenticate')
  t.ok(spec.paths['/api/v1/logs']?.get?.responses['200'])
  t.ok(spec.paths['/api/v1/logs/{id}']?.get?.responses['404'])
  t.notOk(spec.paths['/health']?.get?.security, 'health needs no key')
  const ui = await app.inject({ method: 'GET', url: '/docs' })
  t.ok(ui.statusCode < 400, 'the UI is served')
})

void t.test('unknown routes answer the common error shape', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/api/v1/nothing?x=1' })
  t.equal(response.statusCode, 404)
  t.same(response.json(), { statusCode: 404, error: 'Not Found', code: 'route_not_found', message: 'No route GET /api/v1/nothing.' })
})

void t.test('the README\'s table of error codes is the closed set the service answers with', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('\n### Error codes\n'), readme.indexOf('\n## The key CLI\n'))
  t.ok(section.length > 0, 'the README has an "Error codes" section')
  const rows = section.split('\n').filter((line) => /^\| \d{3} \|/.test(line))
  const documented = rows.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`([a-z_]+)`/g)].map((match) => match[1]!))
  t.same([...documented].sort(), [...ERROR_CODES].sort(), 'every code once, and no other')
})
