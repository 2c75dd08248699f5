// A revoked key fails at once on every instance: two real service processes
// share one database, each caching keys for five minutes, so only the key
// change notifications can explain a revocation seen within a second on the
// instance that did not make it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { sql, type Kysely, type KyselyPlugin } from 'kysely'
import t from 'tap'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { KeyResolver } from '../../src/auth/resolver.ts'
import { createKey } from '../../src/keys/store.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import type { Scope } from '../../src/keys/scopes.ts'
import { KEY_SHAPE, testDatabaseUrl } from '../helper.ts'
import { startService, type Service } from './service.ts'

// Two service processes compiled by this test's TypeScript loader take a few
// seconds each to start on a loaded machine.
t.setTimeout(90_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LISTENER_NAME = 'central-logger key changes'
/** The contract's bound for a revocation to be seen everywhere. */
const BOUND_MS = 1000
const POLL_MS = 20

async function startInstance (t: Test, name: string, databaseUrl: string): Promise<Service> {
  // With the test's Redis when it has one: the starter leaves REDIS_URL out unless given.
  const redis = process.env.REDIS_URL
  return await startService(t, name, {
    DATABASE_URL: databaseUrl,
    KEY_CACHE_TTL_SECONDS: '300',
    ...(redis === undefined || redis === '' ? {} : { REDIS_URL: redis })
  })
}

async function request (instance: Service, method: string, path: string, apiKey: string, body?: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${instance.base}${path}`, {
    method,
    headers: { 'x-api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

/** Runs the key CLI the way `npm run keys` does, on the given database. */
async function runCli (databaseUrl: string, args: string[]): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, 'scripts/keys.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stderr }
}

interface Refused {
  /** Milliseconds from `since` to the answer that refused the key. */
  afterMs: number
  status: number
  code: unknown
  /** Answers that still accepted the key before. */
  accepted: number
}

/** Asks with the key every ~20 ms until it is refused, for at most `limitMs`. */
async function pollUntilRefused (instance: Service, apiKey: string, since: number, limitMs = 5000): Promise<Refused> {
  let accepted = 0
  for (;;) {
    const { status, body } = await request(instance, 'GET', '/api/v1/logs?limit=1', apiKey)
    const now = performance.now()
    if (status !== 200) return { afterMs: now - since, status, code: body.code, accepted }
    accepted++
    if (now - since > limitMs) return { afterMs: now - since, status, code: body.code, accepted }
    await sleep(POLL_MS)
  }
}

interface Key { apiKey: string, keyId: string }

async function newKey (db: Kysely<Database>, clientId: string, scopes: Scope[] = ['logs:write', 'logs:read']): Promise<Key> {
  const { apiKey, info } = await createKey(db, { clientId, scopes, name: 'revocation test' })
  return { apiKey, keyId: info.id }
}

async function listeners (db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${LISTENER_NAME} AND datname = current_database()`.execute(db)
  return rows[0]!.n
}

async function waitFor (what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Both instances accept the key, so both have it cached. */
async function warm (t: Test, instances: Service[], key: Key): Promise<void> {
  for (const instance of instances) {
    for (let i = 0; i < 2; i++) {
      t.equal((await request(instance, 'GET', '/api/v1/logs?limit=1', key.apiKey)).status, 200, `${instance.name} accepts the key`)
    }
  }
}

void t.test('two instances on one database: a revocation anywhere is seen everywhere within a second', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  // Idle connections are cut when the file's database is dropped; that is no failure.
  const db = connect(databaseUrl, { onPoolError: () => {} })
  t.teardown(async () => { await db.destroy() })
  await migrateToLatest(db)
  const { client } = await findOrCreateClient(db, 'acme')
  // Rotation hands out a key with the old one's scopes: the caller must hold them all.
  const manager = await newKey(db, client.id, ['keys:manage', 'logs:write', 'logs:read'])

  const [a, b] = await Promise.all([startInstance(t, 'A', databaseUrl), startInstance(t, 'B', databaseUrl)])
  t.not(a.base, b.base, 'two instances, two ports')
  await waitFor('both listeners', async () => await listeners(db) === 2)
  t.pass('each instance listens for key changes on its own connection')
  /** Milliseconds from a change to the other instance refusing the key. */
  const latencies: number[] = []

  await t.test('revoked through instance A (DELETE /api/v1/keys/:id): refused by B within 1 s', async (t) => {
    const victim = await newKey(db, client.id)
    await warm(t, [a, b], victim)
    const revoked = await request(a, 'DELETE', `/api/v1/keys/${victim.keyId}`, manager.apiKey)
    const answeredAt = performance.now()
    t.equal(revoked.status, 200, 'A revokes the key')
    t.equal(revoked.body.revoked, true)
    const onB = await pollUntilRefused(b, victim.apiKey, answeredAt)
    t.equal(onB.status, 401, 'B refuses the key')
    t.equal(onB.code, 'revoked_api_key')
    t.ok(onB.afterMs < BOUND_MS, `B refused it ${onB.afterMs.toFixed(0)} ms after A answered (bound ${BOUND_MS} ms)`)
    latencies.push(onB.afterMs)
    const onA = await pollUntilRefused(a, victim.apiKey, answeredAt)
    t.equal(onA.code, 'revoked_api_key', 'A refuses it too')
    t.ok(onA.afterMs < BOUND_MS, `A refused it ${onA.afterMs.toFixed(0)} ms after answering`)
    t.equal((await request(b, 'GET', '/api/v1/logs?limit=1', manager.apiKey)).status, 200, 'the other keys are unaffected')
  })

  await t.test('revoked by hand in SQL: the trigger announces it, both instances refuse within 1 s', async (t) => {
    const victim = await newKey(db, client.id)
    await warm(t, [a, b], victim)
    await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${victim.keyId}`.execute(db)
    const committedAt = performance.now()
    for (const instance of [b, a]) {
      const refused = await pollUntilRefused(instance, victim.apiKey, committedAt)
      t.equal(refused.code, 'revoked_api_key', `${instance.name} refuses the key`)
      t.ok(refused.afterMs < BOUND_MS, `${instance.name} refused it ${refused.afterMs.toFixed(0)} ms after the commit`)
      if (instance === b) latencies.push(refused.afterMs)
    }
  })

  await t.test('revoked with the key CLI: both instances refuse within 1 s', async (t) => {
    const victim = await newKey(db, client.id)
    await warm(t, [a, b], victim)
    const cli = await runCli(databaseUrl, ['revoke', victim.keyId, '--json'])
    const doneAt = performance.now()
    t.equal(cli.code, 0, `the CLI revokes the key${cli.code === 0 ? '' : `: ${cli.stderr}`}`)
    for (const instance of [b, a]) {
      const refused = await pollUntilRefused(instance, victim.apiKey, doneAt)
      t.equal(refused.code, 'revoked_api_key', `${instance.name} refuses the key`)
      t.ok(refused.afterMs < BOUND_MS, `${instance.name} refused it ${refused.afterMs.toFixed(0)} ms after the CLI exited`)
      if (instance === b) latencies.push(refused.afterMs)
    }
  })

  await t.test('rotated through A with grace_seconds 0: the old key is refused by B within 1 s, the new one accepted', async (t) => {
    const old = await newKey(db, client.id)
    await warm(t, [a, b], old)
    const rotated = await request(a, 'POST', `/api/v1/keys/${old.keyId}/rotate`, manager.apiKey, { grace_seconds: 0 })
    const answeredAt = performance.now()
    t.equal(rotated.status, 201, 'A rotates the key')
    const newKeyText = rotated.body.api_key as string
    t.match(newKeyText, KEY_SHAPE)
    const onB = await pollUntilRefused(b, old.apiKey, answeredAt)
    t.equal(onB.status, 401)
    t.equal(onB.code, 'rotated_api_key', 'B refuses the old key as rotated')
    t.ok(onB.afterMs < BOUND_MS, `B refused it ${onB.afterMs.toFixed(0)} ms after A answered`)
    latencies.push(onB.afterMs)
    t.equal((await request(b, 'GET', '/api/v1/logs?limit=1', newKeyText)).status, 200, 'B accepts the new key')
  })

  await t.test('the listener recovers when its connection is cut', async (t) => {
    const victim = await newKey(db, client.id)
    await warm(t, [a, b], victim)
    const { rows } = await sql<{ ok: boolean }>`
      SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE application_name = ${LISTENER_NAME} AND datname = current_database()`.execute(db)
    t.equal(rows.length, 2, 'both listeners were cut')
    await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${victim.keyId}`.execute(db)
    const committedAt = performance.now()
    const refused = await pollUntilRefused(b, victim.apiKey, committedAt)
    t.equal(refused.code, 'revoked_api_key', 'B refuses a key revoked while its listener was down')
    t.ok(refused.afterMs < 2000, `within ${refused.afterMs.toFixed(0)} ms`)

    await waitFor('the listeners to reconnect', async () => await listeners(db) === 2)
    t.pass('both instances listen again')
    for (const instance of [a, b]) {
      t.ok(instance.lines.some((line) => line.includes('key change notifications lost')), `${instance.name} logged the lost notifications`)
    }
    // Once listening again, a change is heard as before.
    const next = await newKey(db, client.id)
    await warm(t, [a, b], next)
    await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${next.keyId}`.execute(db)
    const again = performance.now()
    const onB = await pollUntilRefused(b, next.apiKey, again)
    t.equal(onB.code, 'revoked_api_key')
    t.ok(onB.afterMs < BOUND_MS, `after reconnecting, B refused a revoked key ${onB.afterMs.toFixed(0)} ms after the commit`)
    latencies.push(onB.afterMs)
  })

  await t.test('SIGTERM stops each instance cleanly', async (t) => {
    for (const instance of [a, b]) {
      instance.child.kill('SIGTERM')
      t.equal(await instance.exited, 0, `${instance.name} exits 0`)
      t.notOk(instance.lines.some((line) => KEY_SHAPE.test(line)), `${instance.name} never logged a key`)
    }
  })
  t.comment(`revocation seen on the other instance after (ms): ${latencies.map((ms) => ms.toFixed(0)).join(', ')}`)
})

void t.test('a lookup under way when a change is announced is not cached', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const db = connect(databaseUrl, { onPoolError: () => {} })
  t.teardown(async () => { await db.destroy() })
  await migrateToLatest(db)
  const { client } = await findOrCreateClient(db, 'acme')
  const key = await newKey(db, client.id)

  // Holds the resolver's query results until released: the lookup has read
  // the key as active, and its answer is on its way.
  let release = (): void => {}
  let held = (): void => {}
  const reading = new Promise<void>((resolve) => { held = resolve })
  const gate = new Promise<void>((resolve) => { release = resolve })
  const holding: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      held()
      await gate
      return args.result
    }
  }
  const resolver = new KeyResolver(db.withPlugin(holding), { ttlMs: 300_000, max: 100 })
  resolver.setCacheTrusted(true)

  const first = resolver.resolve(key.apiKey)
  await reading
  const joined = resolver.resolve(key.apiKey)
  // Revoked and announced while the lookup is under way.
  await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', key.keyId).execute()
  resolver.forget(key.keyId)
  const afterwards = resolver.resolve(key.apiKey)
  release()
  t.equal((await first).keyId, key.keyId, 'the request that started before the revocation is answered as it read')
  t.equal((await joined).keyId, key.keyId, 'as is one that joined it before the announcement')
  await t.rejects(afterwards, { code: 'revoked_api_key' }, 'a request after the announcement does not wait for the old lookup')
  await t.rejects(resolver.resolve(key.apiKey), { code: 'revoked_api_key' }, 'and the old answer was not cached')
})
