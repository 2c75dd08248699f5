// Who may scrape: METRICS_TOKEN as a bearer token on PORT, or METRICS_PORT,
// a listener of its own (with the token too, when both are set), which PORT
// then does not serve. And nothing secret is ever in the text.
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { buildTestApp, entry, expectError, issueKey, postLogs } from '../helper.ts'

const TOKEN = 'scrape-token-0123456789abcdef'

/** A request over a real socket (the metrics listener is not the app: app.inject cannot reach it). */
async function get (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
    req.once('error', reject).end()
  })
}

void t.test('without a token or port: served on PORT to anyone', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(res.body, /^central_logger_log_entries_total\{protocol="native",outcome="stored"\} 0$/m)
  t.equal(app.metricsListener, undefined)
})

void t.test('METRICS_TOKEN: refused without it, or with another, as a bearer token only', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_TOKEN: TOKEN })
  const refused = [
    {},
    { authorization: 'Bearer wrong-token-0123456789abcdef' },
    { authorization: `Bearer ${TOKEN}x` },
    { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    { authorization: TOKEN },
    { 'x-api-key': TOKEN }
  ]
  for (const headers of refused) {
    const body = expectError(t, await app.inject({ method: 'GET', url: '/metrics', headers }), 401, 'invalid_metrics_token')
    t.notOk(JSON.stringify(body).includes(TOKEN), 'the answer does not tell the token')
  }
  for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization } })
    t.equal(res.statusCode, 200, authorization.split(' ')[0] ?? '')
  }
})

void t.test('METRICS_PORT: a listener of its own, which PORT leaves alone; with METRICS_TOKEN, it needs the token', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_TOKEN: TOKEN })
  const port = app.metricsListener?.port
  if (port === undefined) throw new Error('no metrics listener')
  expectError(t, await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } }), 404, 'route_not_found')

  const refused = await get(port, '/metrics')
  t.equal(refused.status, 401)
  t.match(refused.headers['www-authenticate'], /^Bearer/)
  t.match(JSON.parse(refused.body), { statusCode: 401, code: 'invalid_metrics_token' })
  const served = await get(port, '/metrics?x=1', { authorization: `Bearer ${TOKEN}` })
  t.equal(served.status, 200)
  t.match(served.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(served.body, /^process_resident_memory_bytes \d+/m)
  t.match(JSON.parse((await get(port, '/api/v1/logs', { authorization: `Bearer ${TOKEN}` })).body), { statusCode: 404, code: 'route_not_found' },
    'nothing of the API on it')

  await app.close()
  await t.rejects(get(port, '/metrics'), 'closed with the app')
})

void t.test('METRICS_PORT alone: open on its own listener', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })
  const served = await get(app.metricsListener!.port, '/metrics')
  t.equal(served.status, 200)
})

void t.test('a METRICS_PORT taken stops the start, naming it', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0' })
  await t.rejects(buildTestApp(t, { METRICS_PORT: String(app.metricsListener!.port) }), /METRICS_PORT/)
})

void t.test('no secret in the metrics: keys, the token, the signing key, the database password', async (t) => {
  const signingKey = 'signing-key-' + 'z'.repeat(40)
  const { app, databaseUrl } = await buildTestApp(t, {
    METRICS_TOKEN: TOKEN,
    METRICS_PER_CLIENT: 'true',
    SIGNING_KEY: signingKey,
    API_KEYS: JSON.stringify({ 'dev-key-in-plaintext-0123': 'dev-client' })
  })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201)
  t.equal((await postLogs(app, 'dev-key-in-plaintext-0123', [entry()])).statusCode, 201)
  await app.inject({ method: 'GET', url: `/api/v1/logs?api_key=${apiKey}`, headers: { authorization: `Bearer ${apiKey}x` } })
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(res.statusCode, 200)
  const secrets = [apiKey, apiKey.slice(0, 20), 'clk_', TOKEN, signingKey, 'dev-key-in-plaintext', new URL(databaseUrl).pathname.slice(1)]
  const password = new URL(databaseUrl).password
  if (password !== '') secrets.push(password)
  for (const secret of secrets) t.notOk(res.body.includes(secret), `no ${secret.slice(0, 8)}…`)
})
