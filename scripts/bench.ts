// `npm run bench`: ingest throughput over loopback with autocannon, printed
// beside baselines measured in the same run on the same machine: a bare
// Fastify route that parses the same body, and raw COPY of the same entries
// into PostgreSQL. Uses BENCH_DATABASE_URL (a superuser URL; a scratch
// database is created and dropped) or a throw-away embedded PostgreSQL.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { buildApp } from '../src/app.ts'
import { createKey, findOrCreateClient } from '../src/keys/store.ts'
import { withThrowawayPostgres } from './lib/throwaway-postgres.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const BATCH = 100
const CONNECTIONS = 10

function entries (count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    environment: 'production',
    executed_at: new Date(Date.UTC(2026, 10, 26, 10, 0, 0, i)).toISOString(),
    status: i % 10 === 0 ? 'FAILURE' : 'SUCCESS',
    level: 'info',
    workflow_id: `wf-${i % 20}`,
    run_id: `run-${i}`,
    message: `step ${i} finished after processing 1200 rows`,
    duration_ms: i * 3
  }))
}

async function cannon (url: string, body: string, headers: Record<string, string>): Promise<number> {
  const result = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, connections: CONNECTIONS, duration: SECONDS })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return result.requests.average
}

async function bareFastify (body: string): Promise<number> {
  const bare = Fastify()
  bare.post('/', async (_request, reply) => await reply.code(201).send({ ok: true }))
  const address = await bare.listen({ host: '127.0.0.1', port: 0 })
  try {
    return await cannon(address, body, {})
  } finally {
    await bare.close()
  }
}

/** Entries per second through COPY of the same rows into a table shaped like logs. */
async function rawCopy (url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('CREATE TEMP TABLE copy_bench (LIKE logs INCLUDING DEFAULTS INCLUDING INDEXES)')
  const rows = entries(10000).map((e, i) => [
    '00000000-0000-4000-8000-000000000001', `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, '\\N',
    e.environment, e.executed_at, e.status, e.level, e.message, e.workflow_id, '\\N', e.run_id, '\\N', e.duration_ms, '\\N', '\\N',
    '00000000-0000-4000-8000-000000000002'
  ].join('\t')).join('\n') + '\n'
  const started = process.hrtime.bigint()
  let copied = 0
  while (process.hrtime.bigint() - started < BigInt(SECONDS) * 1_000_000_000n) {
    await client.query('TRUNCATE copy_bench')
    await pipeline(Readable.from([rows]), client.query(copyFrom(
      'COPY copy_bench (client_id, id, event_id, environment, executed_at, status, level, message, workflow_id, workflow_name, run_id, step, duration_ms, trace_id, attributes, key_id) FROM STDIN')))
    copied += 10000
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await client.end()
  return copied / seconds
}

/** A scratch database on BENCH_DATABASE_URL (a superuser URL), or on a throw-away embedded PostgreSQL. */
async function withDatabase (run: (url: string) => Promise<void>): Promise<void> {
  const given = process.env.BENCH_DATABASE_URL
  const onServer = async (admin: string): Promise<void> => {
    const name = `cl_bench_${process.pid}`
    const adminClient = new pg.Client({ connectionString: admin })
    await adminClient.connect()
    await adminClient.query(`CREATE DATABASE ${name}`)
    const url = new URL(admin)
    url.pathname = `/${name}`
    try {
      await run(url.toString())
    } finally {
      await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await adminClient.end()
    }
  }
  if (given !== undefined && given !== '') await onServer(given)
  else await withThrowawayPostgres('bench', onServer)
}

await withDatabase(async (databaseUrl) => {
  // The benchmark is one client sending as fast as it can: its rate limits must not be what is measured.
  const app = await buildApp({ env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DB_POOL_MAX: '20', RATE_LIMIT_MAX: '1000000000', INGEST_RATE_LIMIT: '1000000000', INGEST_BYTES_LIMIT: String(2 ** 50) } })
  const { client } = await findOrCreateClient(app.db, 'bench')
  const { apiKey } = await createKey(app.db, { clientId: client.id, scopes: ['logs:write', 'logs:read'] })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const batchBody = JSON.stringify(entries(BATCH))
  const singleBody = JSON.stringify(entries(1)[0])
  try {
    process.stderr.write(`measuring, ${SECONDS} s each, ${CONNECTIONS} connections...\n`)
    const bareBatch = await bareFastify(batchBody)
    const oursBatch = await cannon(`${address}/api/v1/logs`, batchBody, { 'x-api-key': apiKey })
    const bareSingle = await bareFastify(singleBody)
    const oursSingle = await cannon(`${address}/api/v1/logs`, singleBody, { 'x-api-key': apiKey })
    const copyRate = await rawCopy(databaseUrl)
    const row = (name: string, value: number, unit: string, ratio: string): string =>
      `${name.padEnd(44)} ${value.toFixed(0).padStart(10)} ${unit.padEnd(10)} ${ratio}`
    const lines = [
      row(`POST /api/v1/logs, ${BATCH}-entry batches`, oursBatch, 'req/s', `${(oursBatch / bareBatch * 100).toFixed(1)}% of bare Fastify`),
      row('  bare Fastify route, same body', bareBatch, 'req/s', ''),
      row('  entries stored', oursBatch * BATCH, 'entries/s', `${(oursBatch * BATCH / copyRate * 100).toFixed(1)}% of raw COPY`),
      row('  raw COPY into PostgreSQL', copyRate, 'entries/s', ''),
      row('POST /api/v1/logs, single entries', oursSingle, 'req/s', `${(oursSingle / bareSingle * 100).toFixed(1)}% of bare Fastify`),
      row('  bare Fastify route, same body', bareSingle, 'req/s', '')
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    await app.close()
  }
})
