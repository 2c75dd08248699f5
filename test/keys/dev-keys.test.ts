// Development keys from the environment: API_KEYS (JSON, two shapes) and
// API_KEY_<NAME>=key:id:name:secret. Parsed strictly, with messages that name
// the variable and never quote the key; then working beside the database's keys.
import t from 'tap'
import type { Test } from 'tap'
import { DevKeyError, devKeyId, parseDevKeys } from '../../src/auth/dev-keys.ts'
import { DEFAULT_SCOPES } from '../../src/keys/scopes.ts'
import type { LogPageBody } from '../../src/logs/schemas.ts'
import { KEY_SHAPE, buildTestApp, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CLIENT_ID = '6f1c1a52-7a4e-4c59-9a43-0d8f1f0e7b21'
// Distinctive, so that any message quoting one is caught.
const SECRET_KEY = 'sekrit-dev-key-0123'
const OTHER_KEY = 'sekrit-dev-key-4567'

/** parseDevKeys refuses the environment with a DevKeyError whose message matches and never holds a key. */
function refuses (t: Test, env: Record<string, string>, message: RegExp, keys: string[] = [SECRET_KEY, OTHER_KEY]): void {
  try {
    parseDevKeys(env)
    t.fail(`accepted ${Object.keys(env).join(', ')}`)
  } catch (error) {
    t.ok(error instanceof DevKeyError, 'a DevKeyError')
    const text = (error as Error).message
    t.match(text, message)
    for (const key of keys) t.notOk(text.includes(key), `the message does not quote the key: ${text}`)
  }
}

void t.test('API_KEYS as {"<key>": "<client>"}: a client name, or a client id when it is a UUID', async (t) => {
  const keys = parseDevKeys({ API_KEYS: JSON.stringify({ [SECRET_KEY]: 'acme-dev', [OTHER_KEY]: CLIENT_ID.toUpperCase() }) })
  t.same(keys, [
    { apiKey: SECRET_KEY, source: 'API_KEYS (entry 1)', clientName: 'acme-dev', scopes: DEFAULT_SCOPES },
    { apiKey: OTHER_KEY, source: 'API_KEYS (entry 2)', clientId: CLIENT_ID, clientName: undefined, scopes: DEFAULT_SCOPES }
  ])
})

void t.test('API_KEYS as {"<key>": {"id", "name", "scopes", "secret_key"}}', async (t) => {
  const [full, named, byName] = parseDevKeys({
    API_KEYS: JSON.stringify({
      [SECRET_KEY]: { id: CLIENT_ID, name: 'Acme', scopes: ['logs:read', 'keys:manage', 'logs:read'], secret_key: 'sign-me' },
      [OTHER_KEY]: { id: 'acme-dev', name: 'ignored beside a non-UUID id' },
      k3: { name: 'beta-dev', id: null, secret_key: '' }
    })
  })
  t.same(full, {
    apiKey: SECRET_KEY,
    source: 'API_KEYS (entry 1)',
    clientId: CLIENT_ID,
    clientName: 'Acme',
    scopes: ['logs:read', 'keys:manage'],
    signingSecret: 'sign-me'
  }, 'every field, scopes deduplicated')
  t.equal(named?.clientName, 'acme-dev', 'an id that is no UUID names the client')
  t.equal(named?.clientId, undefined)
  t.same(named?.scopes, DEFAULT_SCOPES, 'default scopes')
  t.equal(byName?.clientName, 'beta-dev', 'a name alone')
  t.equal(byName?.signingSecret, undefined, 'an empty secret is none')
})

void t.test('API_KEY_<NAME>=key:id:name:secret, with 2, 3 or 4 fields', async (t) => {
  const keys = parseDevKeys({
    API_KEY_TWO: `${SECRET_KEY}:acme-dev`,
    API_KEY_THREE: `${OTHER_KEY}:${CLIENT_ID}:Acme`,
    API_KEY_FOUR_4: `k4:${CLIENT_ID}:Acme:sign-me`,
    API_KEY_GAP: 'k5::beta-dev:',
    API_KEY_EMPTY: '',
    API_KEY_lower: 'not-read:acme',
    OTHER_VARIABLE: 'k6:acme'
  })
  t.same(keys, [
    { apiKey: SECRET_KEY, source: 'API_KEY_TWO', clientName: 'acme-dev', scopes: DEFAULT_SCOPES, signingSecret: undefined },
    { apiKey: OTHER_KEY, source: 'API_KEY_THREE', clientId: CLIENT_ID, clientName: 'Acme', scopes: DEFAULT_SCOPES, signingSecret: undefined },
    { apiKey: 'k4', source: 'API_KEY_FOUR_4', clientId: CLIENT_ID, clientName: 'Acme', scopes: DEFAULT_SCOPES, signingSecret: 'sign-me' },
    { apiKey: 'k5', source: 'API_KEY_GAP', clientName: 'beta-dev', scopes: DEFAULT_SCOPES, signingSecret: undefined }
  ], 'empty values, lower-case names and other variables are not keys')
})

void t.test('nothing configured: no keys', async (t) => {
  t.same(parseDevKeys({}), [])
  t.same(parseDevKeys({ API_KEYS: '' }), [])
  t.same(parseDevKeys({ API_KEYS: '  ' }), [])
  t.same(parseDevKeys({ API_KEYS: '{}' }), [])
})

void t.test('bad API_KEYS: refused with a message naming it, never the key', async (t) => {
  refuses(t, { API_KEYS: `{"${SECRET_KEY}": }` }, /^API_KEYS is not valid JSON/)
  refuses(t, { API_KEYS: `{"${SECRET_KEY}": "acme"` }, /^API_KEYS is not valid JSON \(at character \d+\)/)
  refuses(t, { API_KEYS: `{${SECRET_KEY}: "acme"}` }, /^API_KEYS is not valid JSON/)
  refuses(t, { API_KEYS: `${SECRET_KEY}` }, /^API_KEYS is not valid JSON/)
  for (const json of ['[]', 'null', '"acme"', '42', `["${SECRET_KEY}"]`]) {
    refuses(t, { API_KEYS: json }, /^API_KEYS must be a JSON object/)
  }
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: 42 }) }, /^API_KEYS \(entry 1\): the value must be a client id or name/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: ['acme'] }) }, /^API_KEYS \(entry 1\): the value must be/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: null }) }, /^API_KEYS \(entry 1\): the value must be/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: {} }) }, /^API_KEYS \(entry 1\): the key names no client/)
  refuses(t, { API_KEYS: JSON.stringify({ ok: 'acme', [SECRET_KEY]: { id: 5 } }) }, /^API_KEYS \(entry 2\): "id" must be a string/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: { name: 'acme', secret_key: true } }) }, /"secret_key" must be a string/)
})

void t.test('bad scopes are refused', async (t) => {
  for (const scopes of [['admin'], [], 'logs:read', ['logs:read', 5], null]) {
    refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: { name: 'acme', scopes } }) },
      /^API_KEYS \(entry 1\): "scopes" must be a non-empty array of logs:write, logs:read, keys:manage\.$/)
  }
})

void t.test('a key must be non-empty and hold no whitespace', async (t) => {
  for (const key of ['', ' ', ` ${SECRET_KEY}`, `${SECRET_KEY} `, 'sekrit dev key', 'sekrit\tkey', 'sekrit\nkey']) {
    refuses(t, { API_KEYS: JSON.stringify({ [key]: 'acme' }) }, /^API_KEYS \(entry 1\): a key must be non-empty and hold no whitespace\.$/, [SECRET_KEY, 'sekrit'])
  }
  refuses(t, { API_KEY_SPACE: 'sekrit key:acme' }, /^API_KEY_SPACE: a key must be non-empty and hold no whitespace\.$/, ['sekrit'])
  refuses(t, { API_KEY_NOKEY: ':acme' }, /^API_KEY_NOKEY: a key must be non-empty/)
})

void t.test('API_KEY_<NAME> with too few or too many fields', async (t) => {
  refuses(t, { API_KEY_DEV: SECRET_KEY }, /^API_KEY_DEV: the key names no client \(give an id or a name\)\.$/)
  refuses(t, { API_KEY_DEV: `${SECRET_KEY}:::` }, /^API_KEY_DEV: the key names no client/)
  refuses(t, { API_KEY_DEV: `${SECRET_KEY}:acme:Acme:secret:extra` }, /^API_KEY_DEV must be key:id:name:secret \(at most four fields separated by ":"\)\.$/)
  refuses(t, { API_KEY_DEV: `${SECRET_KEY}:${CLIENT_ID}:Acme:se:cret` }, /^API_KEY_DEV must be key:id:name:secret/)
})

void t.test('a client name that could disguise what a terminal shows is refused, by position and never quoted', async (t) => {
  const disguised = 'ok\r\u001b[2K\u001b[31mFAKE LINE\u001b]0;owned\u0007'
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: disguised }) },
    /^API_KEYS \(entry 1\): the client name holds U\+000D \(a control character\) at character 3; control characters .* are refused in names\.$/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: { id: CLIENT_ID, name: 'acme\u009b31m' } }) },
    /^API_KEYS \(entry 1\): the client name holds U\+009B \(a control character\) at character 5;/)
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: { name: 'admin\u202etxt.exe' } }) },
    /the client name holds U\+202E \(a bidirectional formatting character\) at character 6;/)
  refuses(t, { API_KEY_DEV: `${SECRET_KEY}::line\u2028break` }, /^API_KEY_DEV: the client name holds U\+2028 \(a line or paragraph separator\)/)
  refuses(t, { API_KEY_DEV: `${SECRET_KEY}:tab\there` }, /^API_KEY_DEV: the client name holds U\+0009/)
  try {
    parseDevKeys({ API_KEYS: JSON.stringify({ [SECRET_KEY]: disguised }) })
  } catch (error) {
    const controls = [...(error as Error).message].filter((char) => char.codePointAt(0)! < 0x20 || (char.codePointAt(0)! >= 0x7f && char.codePointAt(0)! <= 0x9f))
    t.same(controls, [], 'the message itself holds no control character')
  }
  t.same(parseDevKeys({ API_KEYS: JSON.stringify({ [SECRET_KEY]: 'Société Générale — 東京' }) }).map((key) => key.clientName),
    ['Société Générale — 東京'], 'any printable text is a name')
})

void t.test('the same key configured twice is refused, naming the second place', async (t) => {
  refuses(t, { API_KEYS: JSON.stringify({ [SECRET_KEY]: 'acme' }), API_KEY_AGAIN: `${SECRET_KEY}:beta` },
    /^API_KEY_AGAIN: the same key is configured twice\.$/)
  refuses(t, { API_KEY_ONE: `${SECRET_KEY}:acme`, API_KEY_TWO: `${SECRET_KEY}:acme` }, /^API_KEY_TWO: the same key is configured twice\.$/)
})

void t.test('devKeyId: a stable UUID per key, never the key', async (t) => {
  const id = devKeyId(SECRET_KEY)
  t.match(id, UUID)
  t.equal(id[14], '8', 'version 8')
  t.match(id[19], /[89ab]/, 'the RFC 9562 variant')
  t.equal(devKeyId(SECRET_KEY), id, 'the same key, the same id')
  t.not(devKeyId(OTHER_KEY), id, 'another key, another id')
  t.notOk(id.replaceAll('-', '').includes(Buffer.from(SECRET_KEY).toString('hex').slice(0, 8)))
})

void t.test('a development key ingests and reads beside the database\'s keys, even one not shaped like a key', async (t) => {
  const devKey = 'dev-local-key-1'
  const { app, logLines } = await buildTestApp(t, { API_KEYS: JSON.stringify({ [devKey]: 'acme-dev' }) })
  const stored = await issueKey(app, 'acme-dev')

  const client = await app.db.selectFrom('clients').selectAll().where('name', '=', 'acme-dev').executeTakeFirst()
  t.ok(client, 'the key\'s client was created in the clients table at start')
  t.equal(client?.id, stored.clientId, 'the same client the stored key belongs to')

  const written = await postLogs(app, devKey, entry({ message: 'from the development key' }))
  t.equal(written.statusCode, 201, 'ingests')
  t.equal((await postLogs(app, stored.apiKey, entry({ message: 'from the stored key' }))).statusCode, 201, 'the stored key too')
  for (const [name, headers] of [['X-API-Key', { 'x-api-key': devKey }], ['Bearer', { authorization: `Bearer ${devKey}` }]] as const) {
    const read = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc', headers })
    t.equal(read.statusCode, 200, `reads, with ${name}`)
    t.same(read.json<LogPageBody>().data.map((log) => log.message), ['from the development key', 'from the stored key'], 'the client\'s logs, both keys\'')
  }

  const rows = await app.db.selectFrom('logs').select(['key_id', 'message']).orderBy('received_at').execute()
  t.equal(rows[0]?.key_id, devKeyId(devKey), 'its logs record the development key\'s stable id')
  t.equal(rows[1]?.key_id, stored.keyId)

  expectError(t, await postLogs(app, 'dev-local-key-2', entry()), 401, 'malformed_api_key')
  t.equal(await countLogs(app), 2)

  const warning = logLines().map((line) => JSON.parse(line) as { level: number, msg: string, keys?: string[] })
    .find((line) => line.msg.includes('plaintext development keys'))
  t.ok(warning, 'a start-up warning says plaintext keys are configured')
  t.equal(warning?.level, 40, 'at warn level')
  t.same(warning?.keys, ['API_KEYS (entry 1)'], 'naming where, not what')
  t.notOk(logLines().some((line) => line.includes(devKey)), 'no log line holds the development key')
  t.notOk(logLines().some((line) => KEY_SHAPE.test(line)), 'nor a stored key')
})

void t.test('a development key\'s scopes are enforced, and its client can be given by id', async (t) => {
  const readOnly = 'dev-reader-key'
  const writer = 'dev-writer-key'
  const { app, logLines } = await buildTestApp(t, {
    API_KEYS: JSON.stringify({ [readOnly]: { id: CLIENT_ID, name: 'dev-team', scopes: ['logs:read'] } }),
    API_KEY_WRITER: `${writer}:${CLIENT_ID}`
  })
  const client = await app.db.selectFrom('clients').selectAll().where('id', '=', CLIENT_ID).executeTakeFirst()
  t.equal(client?.name, 'dev-team', 'the client was created with the given id and name')

  expectError(t, await postLogs(app, readOnly, entry()), 403, 'insufficient_scope')
  t.equal(await countLogs(app), 0, 'a refused write stores nothing')
  t.equal((await postLogs(app, writer, entry())).statusCode, 201, 'the default scopes write')
  const read = await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': readOnly } })
  t.equal(read.statusCode, 200)
  t.equal(read.json<LogPageBody>().data.length, 1, 'the read-only key reads what the other wrote: one client')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/keys', headers: { 'x-api-key': writer } }), 403, 'insufficient_scope')
  const warning = logLines().find((line) => line.includes('plaintext development keys'))
  t.match(warning, /API_KEY_WRITER/)
  t.notOk(logLines().some((line) => line.includes(readOnly) || line.includes(writer)), 'no log line holds a development key')
})

void t.test('a bad API_KEYS stops the start, naming API_KEYS and not the key', async (t) => {
  for (const json of [`{"${SECRET_KEY}": }`, '[1]', JSON.stringify({ [SECRET_KEY]: { name: 'acme', scopes: ['root'] } })]) {
    try {
      await buildTestApp(t, { API_KEYS: json })
      t.fail('built')
    } catch (error) {
      const message = (error as Error).message
      t.match(message, /API_KEYS/, message)
      t.notOk(message.includes(SECRET_KEY), 'the message does not quote the key')
    }
  }
  await t.rejects(buildTestApp(t, { API_KEY_BROKEN: `${SECRET_KEY}` }), /^API_KEY_BROKEN: /)
})

void t.test('a development key that is also stored is judged as stored: revoking it still works', async (t) => {
  const { app: provider, databaseUrl } = await buildTestApp(t)
  const stored = await issueKey(provider, 'acme')
  // The API_KEYS line `keys create` prints, pasted into the .env of an instance on the same database.
  const { app } = await buildTestApp(t, { DATABASE_URL: databaseUrl, API_KEYS: JSON.stringify({ [stored.apiKey]: 'acme' }) })
  const accepted = await postLogs(app, stored.apiKey, entry())
  t.equal(accepted.statusCode, 201, 'accepted while the stored key is')
  const row = await app.db.selectFrom('logs').select('key_id').executeTakeFirstOrThrow()
  t.equal(row.key_id, stored.keyId, 'recorded under the stored key, not as a development key')
  await provider.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', stored.keyId).execute()
  app.keyResolver.clear()
  expectError(t, await postLogs(app, stored.apiKey, entry()), 401, 'revoked_api_key')
})

void t.test('a development key pasted into a URL is masked in the request log, whatever its shape', async (t) => {
  const devKey = 'local-dev-key-7f3a9c'
  const { app, logLines } = await buildTestApp(t, { API_KEYS: JSON.stringify({ [devKey]: 'acme' }) })
  await app.inject({ method: 'GET', url: `/api/v1/logs?api_key=${devKey}`, headers: { 'x-api-key': devKey } })
  await app.inject({ method: 'GET', url: `/api/v1/logs?api_key=${encodeURIComponent(devKey).replace('-', '%2D')}`, headers: { 'x-api-key': devKey } })
  const urls = logLines().filter((line) => line.includes('api_key='))
  t.ok(urls.length >= 2, 'the requests were logged')
  t.notOk(logLines().some((line) => line.includes('7f3a9c')), 'no line holds the key, plain or percent-encoded')
})
