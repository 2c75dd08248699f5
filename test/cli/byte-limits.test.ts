// The CLI's byte limits: create and limit set a client's ingest bytes per
// minute and storage quota (in bytes or with a unit, `default`, `none`),
// refuse a bytes limit a full request could never fit, and limit, list and
// usage show the limits and the bytes the client stores.
import t from 'tap'
import { buildTestApp, entry, issueKey, postLogs } from '../helper.ts'
import { keys, parsed, type Created } from './run.ts'

interface Limits {
  ingest_bytes_limit: number | null
  effective_ingest_bytes_limit: number
  storage_quota_bytes: number | null
  effective_storage_quota_bytes: number | null
  stored_bytes: number
  changed: boolean
}

interface Listed {
  clients: Array<{ client_name: string, ingest_bytes_limit: number | null, storage_quota_bytes: number | null, stored_bytes: number }>
}

interface Usage {
  clients: Array<{ client_name: string, stored_bytes: number }>
}

void t.test('create and limit set the byte limits; limit, list and usage show them with the bytes stored', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { USAGE_FLUSH_SECONDS: '300' })
  const run = async (...args: string[]) => await keys(databaseUrl, args)

  const created = await run('create', 'acme', '--ingest-bytes-limit', '64MiB', '--storage-quota', '10GB', '--json')
  t.equal(created.code, 0, created.stderr)
  const acme = parsed<Created>(created)
  t.match(acme, { ingest_bytes_limit: 64 * 2 ** 20, storage_quota_bytes: 10e9 })
  t.equal((await postLogs(app, acme.api_key, entry({ message: 'x'.repeat(79) }))).statusCode, 201, '100 bytes stored')
  await app.usage.flush()
  await app.usage.flush()

  const shown = await run('limit', 'acme', '--json')
  t.match(parsed<Limits>(shown), {
    ingest_bytes_limit: 67108864, effective_ingest_bytes_limit: 67108864, storage_quota_bytes: 10e9, effective_storage_quota_bytes: 10e9, stored_bytes: 100, changed: false
  })
  t.match((await run('limit', 'acme')).stdout, /at most 64 MiB of them per minute, across all its keys\. It stores 100 bytes of logs, with a storage quota of 10 GB\./)

  const reset = await run('limit', 'acme', '--bytes', 'default', '--storage', 'none', '--json')
  t.match(parsed<Limits>(reset), {
    ingest_bytes_limit: null, effective_ingest_bytes_limit: 64 * 2 ** 20, storage_quota_bytes: 0, effective_storage_quota_bytes: null, changed: true
  })
  const text = (await run('limit', 'acme', '--bytes', '8388608', '--storage', 'default')).stdout
  t.match(text, /at most 8 MiB of them per minute, across all its keys\. It stores 100 bytes of logs, with no storage quota \(the service's STORAGE_QUOTA_BYTES\)\. Every running instance/)
  const audit = await app.db.selectFrom('audit_events').select('details').where('event', '=', 'client.updated').orderBy('id').execute()
  t.same(audit.map((row) => row.details), [
    { ingest_bytes_limit: { from: null, to: 67108864 }, storage_quota_bytes: { from: null, to: 10e9 } },
    { ingest_bytes_limit: { from: 67108864, to: null }, storage_quota_bytes: { from: 10e9, to: 0 } },
    { ingest_bytes_limit: { from: null, to: 8388608 }, storage_quota_bytes: { from: 0, to: null } }
  ], 'each change is audited')

  await issueKey(app, 'globex')
  const listed = await run('list', '--json')
  t.match(parsed<Listed>(listed).clients, [
    { client_name: 'acme', ingest_bytes_limit: 8388608, storage_quota_bytes: null, stored_bytes: 100 },
    { client_name: 'globex', ingest_bytes_limit: null, storage_quota_bytes: null, stored_bytes: 0 }
  ])
  t.match((await run('list', '--client', 'acme')).stdout, /^acme {2}\(.*, stores 100 bytes, 8 MiB of log entries per minute\)$/m)
  t.match(parsed<Usage>(await run('usage', '--json')).clients, [{ client_name: 'acme', stored_bytes: 100 }])
  t.match((await run('usage', '--client', 'acme')).stdout, /^acme {2}\(.*, stores 100 bytes of logs now\)$/m)
})

void t.test('what the byte options refuse', async (t) => {
  const { databaseUrl } = await buildTestApp(t)
  const run = async (...args: string[]) => await keys(databaseUrl, args)
  t.equal((await run('create', 'acme')).code, 0)

  const small = await run('limit', 'acme', '--bytes', '1MiB')
  t.equal(small.code, 2)
  t.match(small.stderr, /--bytes "1MiB" must be at least MAX_BODY_BYTES, 5242880 \(5 MiB\): a request of the largest size/)
  t.equal((await keys(databaseUrl, ['limit', 'acme', '--bytes', '1MiB'], '', { MAX_BODY_BYTES: '1048576', INGEST_BYTES_LIMIT: '1048576' })).code, 0,
    'the floor is the configured MAX_BODY_BYTES')
  const zero = await run('limit', 'acme', '--storage', '0')
  t.equal(zero.code, 2)
  t.match(zero.stderr, /for no quota, write none/)
  for (const [option, value] of [['--bytes', '12XB'], ['--bytes', '5 MiB!'], ['--storage', '2PiB'], ['--storage', '1.5GB']]) {
    const refused = await run('limit', 'acme', option!, value!)
    t.equal(refused.code, 2, `${option!} ${value!} is bad usage`)
    t.match(refused.stderr, /must be a byte count from 1 to 1125899906842624 \(1024 TiB\): digits, or a whole number and a unit such as 64MiB/)
  }
  const onCreate = await run('create', 'acme', '--ingest-bytes-limit', '4096')
  t.equal(onCreate.code, 2)
  t.match(onCreate.stderr, /--ingest-bytes-limit "4096" must be at least MAX_BODY_BYTES/)
  t.match((await run('create', 'acme', '--storage-quota', 'none', '--json')).stdout, /"storage_quota_bytes": 0/)
})
