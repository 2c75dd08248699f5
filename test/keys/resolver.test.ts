import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import t from 'tap'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Database } from '../../src/db/schema.ts'
import { generateKey } from '../../src/keys/format.ts'
import { KeyResolver } from '../../src/auth/resolver.ts'
import { createKey } from '../../src/keys/store.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import type { Scope } from '../../src/keys/scopes.ts'
import { testDatabaseUrl } from '../helper.ts'

interface Fixture {
  /** Used to set up rows; its queries are not counted. */
  admin: Kysely<Database>
  /** Handed to the resolver; every statement it runs is counted. */
  counted: Kysely<Database>
  queries: () => number
}

async function setUp (t: Test): Promise<Fixture> {
  const url = await testDatabaseUrl(t)
  // Idle connections are cut when the file's database is dropped; that is no failure.
  const admin = connect(url, { onPoolError: () => {} })
  await migrateToLatest(admin)
  let queries = 0
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  pool.on('error', () => {})
  const counted = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    // Failed statements are round trips too.
    log: () => { queries++ }
  })
  t.teardown(async () => {
    await counted.destroy()
    await admin.destroy()
  })
  return { admin, counted, queries: () => queries }
}

async function newKey (db: Kysely<Database>, options: { client?: string, scopes?: Scope[], expiresAt?: Date } = {}): Promise<{ apiKey: string, keyId: string, clientId: string }> {
  const { client } = await findOrCreateClient(db, options.client ?? 'acme')
  const { apiKey, info } = await createKey(db, {
    clientId: client.id,
    name: 'test',
    scopes: options.scopes ?? ['logs:write', 'logs:read'],
    expiresAt: options.expiresAt ?? null
  })
  return { apiKey, keyId: info.id, clientId: client.id }
}

const CACHED = { ttlMs: 60_000, max: 100 }

/** A resolver whose cache is trusted, as it is while key change notifications arrive. */
function cachedResolver (db: Kysely<Database>, options = CACHED): KeyResolver {
  const resolver = new KeyResolver(db, options)
  resolver.setCacheTrusted(true)
  return resolver
}

void t.test('a valid key resolves to its client, key and scopes', async (t) => {
  const { admin, counted } = await setUp(t)
  const { apiKey, keyId, clientId } = await newKey(admin, { client: 'acme', scopes: ['logs:read', 'keys:manage'] })
  await newKey(admin, { client: 'other' })
  const resolver = cachedResolver(counted)
  const client = await resolver.resolve(apiKey)
  t.equal(client.id, clientId)
  t.equal(client.name, 'acme')
  t.equal(client.keyId, keyId)
  t.equal(client.keyPrefix, apiKey.slice(0, 12))
  t.same([...client.scopes].sort(), ['keys:manage', 'logs:read'])
})

void t.test('a hot key costs no database round trip', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const { apiKey, clientId } = await newKey(admin)
  const resolver = cachedResolver(counted)

  const before = queries()
  const first = await resolver.resolve(apiKey)
  const afterFirst = queries()
  t.equal(afterFirst - before, 1, 'the first resolve looks the key up once')

  const second = await resolver.resolve(apiKey)
  t.equal(queries() - afterFirst, 0, 'the second resolve runs no query')
  t.same(second, first)
  t.equal(second.id, clientId)

  for (let i = 0; i < 20; i++) await resolver.resolve(apiKey)
  t.equal(queries() - afterFirst, 0, 'nor do twenty more')
})

void t.test('concurrent resolves of an uncached key share one lookup', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const { apiKey } = await newKey(admin)
  const resolver = cachedResolver(counted)
  const before = queries()
  const results = await Promise.all(Array.from({ length: 10 }, async () => await resolver.resolve(apiKey)))
  t.equal(results.length, 10)
  t.equal(queries() - before, 1)
})

void t.test('a malformed key is refused without any query', async (t) => {
  const { counted, queries } = await setUp(t)
  const key = generateKey()
  const malformed = [
    key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a'),
    key.slice(0, 30),
    'clx_' + key.slice(4),
    'hello world',
    ''
  ]
  for (const ttlMs of [CACHED.ttlMs, 0]) {
    const resolver = cachedResolver(counted, { ttlMs, max: 100 })
    const before = queries()
    for (const text of malformed) {
      await t.rejects(resolver.resolve(text), { statusCode: 401, code: 'malformed_api_key' }, JSON.stringify(text))
    }
    t.equal(queries() - before, 0, `no query (ttlMs ${ttlMs})`)
  }
})

void t.test('an unknown well-formed key is looked up once, then cached as unknown', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  await newKey(admin)
  const resolver = cachedResolver(counted)
  const unknown = generateKey()

  const before = queries()
  await t.rejects(resolver.resolve(unknown), { statusCode: 401, code: 'invalid_api_key' })
  t.equal(queries() - before, 1, 'looked up once')
  for (let i = 0; i < 5; i++) {
    await t.rejects(resolver.resolve(unknown), { statusCode: 401, code: 'invalid_api_key' })
  }
  t.equal(queries() - before, 1, 'then answered from the cache')

  // Another unknown key is a different cache entry.
  await t.rejects(resolver.resolve(generateKey()), { statusCode: 401, code: 'invalid_api_key' })
  t.equal(queries() - before, 2)
})

void t.test('with ttlMs 0 every resolve queries the database', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const { apiKey } = await newKey(admin)
  const resolver = new KeyResolver(counted, { ttlMs: 0, max: 100 })
  const unknown = generateKey()
  const before = queries()
  for (let i = 0; i < 3; i++) await resolver.resolve(apiKey)
  t.equal(queries() - before, 3, 'a known key, three times')
  for (let i = 0; i < 3; i++) {
    await t.rejects(resolver.resolve(unknown), { code: 'invalid_api_key' })
  }
  t.equal(queries() - before, 6, 'an unknown key, three times')
})

void t.test('clear() forgets cached resolutions', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const { apiKey } = await newKey(admin)
  const resolver = cachedResolver(counted)
  await resolver.resolve(apiKey)
  const before = queries()
  resolver.clear()
  await resolver.resolve(apiKey)
  t.equal(queries() - before, 1)
})

void t.test('revoked and expired keys are refused with their own codes', async (t) => {
  const { admin, counted } = await setUp(t)
  const revoked = await newKey(admin)
  const expired = await newKey(admin)
  const expiresLater = await newKey(admin, { expiresAt: new Date(Date.now() + 3_600_000) })
  const alive = await newKey(admin)
  await admin.updateTable('api_keys').set({ revoked_at: new Date(Date.now() - 1000) }).where('id', '=', revoked.keyId).execute()
  await admin.updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.keyId).execute()

  for (const ttlMs of [CACHED.ttlMs, 0]) {
    const resolver = cachedResolver(counted, { ttlMs, max: 100 })
    await t.rejects(resolver.resolve(revoked.apiKey), { statusCode: 401, code: 'revoked_api_key' })
    await t.rejects(resolver.resolve(expired.apiKey), { statusCode: 401, code: 'expired_api_key' })
    // Refusals are not cached as successes.
    await t.rejects(resolver.resolve(revoked.apiKey), { statusCode: 401, code: 'revoked_api_key' })
    await t.rejects(resolver.resolve(expired.apiKey), { statusCode: 401, code: 'expired_api_key' })
    t.equal((await resolver.resolve(expiresLater.apiKey)).keyId, expiresLater.keyId, 'a future expiry is accepted')
    t.equal((await resolver.resolve(alive.apiKey)).keyId, alive.keyId)
  }
})

void t.test('a key both revoked and expired is reported as revoked', async (t) => {
  const { admin, counted } = await setUp(t)
  const both = await newKey(admin, { expiresAt: new Date(Date.now() - 60_000) })
  await admin.updateTable('api_keys').set({ revoked_at: new Date(Date.now() - 1000) }).where('id', '=', both.keyId).execute()
  const resolver = cachedResolver(counted)
  await t.rejects(resolver.resolve(both.apiKey), { code: 'revoked_api_key' })
})

void t.test('a key whose expiry passes while it is cached is refused', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const expiresAt = new Date(Date.now() + 3_600_000)
  const { apiKey, keyId } = await newKey(admin, { expiresAt })
  const resolver = cachedResolver(counted)

  t.equal((await resolver.resolve(apiKey, new Date(expiresAt.getTime() - 1000))).keyId, keyId)
  const before = queries()
  await t.rejects(resolver.resolve(apiKey, expiresAt), { statusCode: 401, code: 'expired_api_key' }, 'at the expiry instant')
  await t.rejects(resolver.resolve(apiKey, new Date(expiresAt.getTime() + 1000)), { statusCode: 401, code: 'expired_api_key' })
  t.equal(queries() - before, 0, 'decided from the cached record')
})

void t.test('a cache not known to be current is bypassed: every resolve asks the database', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const { apiKey } = await newKey(admin)
  const resolver = new KeyResolver(counted, CACHED)
  await resolver.resolve(apiKey)
  const before = queries()
  await resolver.resolve(apiKey)
  t.equal(queries() - before, 1, 'before notifications are heard, a second resolve queries again')
  resolver.setCacheTrusted(true)
  await resolver.resolve(apiKey)
  const trusted = queries()
  await resolver.resolve(apiKey)
  t.equal(queries() - trusted, 0, 'once they are, it is answered from the cache')
  resolver.setCacheTrusted(false)
  await admin.updateTable('api_keys').set({ revoked_at: new Date() }).execute()
  await t.rejects(resolver.resolve(apiKey), { code: 'revoked_api_key' }, 'losing notifications drops what was cached')
})

void t.test('forgetting a changed key evicts it, and only it', async (t) => {
  const { admin, counted, queries } = await setUp(t)
  const changed = await newKey(admin)
  const untouched = await newKey(admin)
  const resolver = cachedResolver(counted)
  await resolver.resolve(changed.apiKey)
  await resolver.resolve(untouched.apiKey)
  await admin.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', changed.keyId).execute()
  await t.resolves(resolver.resolve(changed.apiKey), 'a cached key is served from the cache until told otherwise')
  resolver.forget(changed.keyId)
  const before = queries()
  await t.rejects(resolver.resolve(changed.apiKey), { code: 'revoked_api_key' }, 'after forget, the revocation is seen')
  await resolver.resolve(untouched.apiKey)
  t.equal(queries() - before, 1, 'the other key is still cached')
})
