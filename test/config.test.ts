import { readFileSync } from 'node:fs'
import t from 'tap'
import { ConfigSchema, loadConfig } from '../src/config.ts'

void t.test('defaults apply when nothing is set', async (t) => {
  const config = loadConfig({})
  t.equal(config.PORT, 3000)
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.DATA_DIR, './data')
  t.equal(config.MAX_BATCH_ENTRIES, 1000)
  t.equal(config.MAX_BODY_BYTES, 5 * 1024 * 1024)
  t.equal(config.DATABASE_URL, undefined)
})

void t.test('values are read and coerced from strings', async (t) => {
  const config = loadConfig({ PORT: '8080', KEY_CACHE_TTL_SECONDS: '0', DATABASE_URL: 'postgresql://u@h/db' })
  t.equal(config.PORT, 8080)
  t.equal(config.KEY_CACHE_TTL_SECONDS, 0)
  t.equal(config.DATABASE_URL, 'postgresql://u@h/db')
})

void t.test('a bad value stops the start with a message naming the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/)
  t.throws(() => loadConfig({ PORT: '70000' }), /PORT/)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/)
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/)
  t.throws(() => loadConfig({ DATABASE_READ_URL: 'postgres://replica/db' }), /DATABASE_READ_URL is set but DATABASE_URL is not/,
    'a replica needs a primary of your own')
  t.equal(loadConfig({ DATABASE_URL: 'postgres://primary/db', DATABASE_READ_URL: 'postgres://replica/db' }).DATABASE_READ_URL, 'postgres://replica/db')
  t.equal(loadConfig({ DATABASE_READ_URL: '' }).DATABASE_READ_URL, '', 'empty counts as unset')
  t.throws(() => loadConfig({ MAX_BATCH_ENTRIES: '0' }), /MAX_BATCH_ENTRIES/)
})

void t.test('.env.example documents every variable with its default', async (t) => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8')
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const fallback = (schema as { default?: unknown }).default
    if (fallback === undefined) {
      t.match(example, new RegExp(`^# ${name}=`, 'm'), `${name} is shown, commented out`)
    } else {
      t.match(example, new RegExp(`^${name}=${String(fallback).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), `${name}=${String(fallback)}`)
    }
  }
})

void t.test('the ingest bytes limit is never below the largest body, or a full request could never be accepted', async (t) => {
  t.equal(loadConfig({}).INGEST_BYTES_LIMIT, 64 * 1024 * 1024)
  t.equal(loadConfig({}).STORAGE_QUOTA_BYTES, 0, 'no storage quota by default')
  t.throws(() => loadConfig({ INGEST_BYTES_LIMIT: '1048576' }),
    /INGEST_BYTES_LIMIT \(1048576\) must be at least MAX_BODY_BYTES \(5242880\)/)
  t.throws(() => loadConfig({ MAX_BODY_BYTES: String(128 * 1024 * 1024) }), /INGEST_BYTES_LIMIT .* must be at least MAX_BODY_BYTES/)
  t.equal(loadConfig({ MAX_BODY_BYTES: '4096', INGEST_BYTES_LIMIT: '4096' }).INGEST_BYTES_LIMIT, 4096, 'equal is enough')
})
