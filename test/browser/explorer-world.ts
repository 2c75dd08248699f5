// The world the explorer's browser tests look at: the service listening on a
// real socket with the page built afresh, tenant A with logs of several
// statuses, levels, environments and workflows over the last days (and a
// thousand more, for scrolling), tenant B with logs of its own, and keys.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { BatchResultBody } from '../../src/logs/schemas.ts'
import { buildExplorer } from '../../scripts/lib/explorer-build.ts'
import { buildTestApp, issueKey, loopbackPort, postLogs, type IssuedKey } from '../helper.ts'

export interface ExplorerWorld {
  app: FastifyInstance
  base: string
  /** A's key with every scope. */
  admin: IssuedKey
  /** A's key for a shipper: logs:write only. */
  writer: IssuedKey
  /** B's key. */
  other: IssuedKey
  /** A's named logs' ids, by message. */
  ids: Map<string, string>
  /** How many logs A has in the last 24 hours. */
  lastDay: number
}

const MINUTE = 60_000

/** A's logs that the tests look for, and when (minutes ago). */
export const NAMED_LOGS = [
  { minutesAgo: 5, workflow_id: 'nightly-etl', status: 'SUCCESS', level: 'info', message: 'loaded 1200 rows into the warehouse', attributes: { rows_loaded: 1200, source: 's3://exports/2026-11-26.csv' } },
  { minutesAgo: 10, workflow_id: 'nightly-etl', status: 'FAILURE', level: 'error', message: 'disk full on /var/lib/etl', attributes: { device: '/dev/sdb1', free_bytes: 0 } },
  { minutesAgo: 40, workflow_id: 'billing-sync', status: 'SUCCESS', level: 'warn', message: 'slow answer from the billing API', duration_ms: 8200 },
  { minutesAgo: 180, workflow_id: 'billing-sync', status: 'FAILURE', level: 'error', message: 'connection refused by the billing API', run_id: 'run-8812' },
  { minutesAgo: 2 * 24 * 60, workflow_id: 'reports', status: 'SUCCESS', level: 'info', message: 'weekly report mailed', environment: 'staging' }
] as const

export const BULK_LOGS = 1000

export async function explorerWorld (t: Test): Promise<ExplorerWorld> {
  const explorerDir = await mkdtemp(path.join(tmpdir(), 'explorer-'))
  t.teardown(async () => { await rm(explorerDir, { recursive: true, force: true }) })
  await buildExplorer(explorerDir)
  const { app } = await buildTestApp(t, {}, { explorerDir })
  const admin = await issueKey(app, 'acme', { name: 'acme admin', scopes: ['logs:write', 'logs:read', 'keys:manage'] })
  const writer = await issueKey(app, 'acme', { name: 'shipper', scopes: ['logs:write'] })
  const other = await issueKey(app, 'globex', { name: 'globex reader', scopes: ['logs:write', 'logs:read'] })

  const now = Date.now()
  const ids = new Map<string, string>()
  const named = NAMED_LOGS.map(({ minutesAgo, ...fields }) => ({
    environment: 'production', ...fields, executed_at: new Date(now - minutesAgo * MINUTE).toISOString()
  }))
  const stored = await postLogs(app, admin.apiKey, named)
  if (stored.statusCode !== 201) throw new Error(`seeding A answered ${stored.statusCode}: ${stored.body}`)
  stored.json<BatchResultBody>().ids.forEach((id, index) => { ids.set(named[index]!.message, id!) })

  // Spread over the last 23 hours, older than every named log of the last hour.
  const bulk = Array.from({ length: BULK_LOGS }, (_, index) => ({
    environment: 'production',
    executed_at: new Date(now - 60 * MINUTE - index * 80 * 1000).toISOString(),
    status: index % 7 === 0 ? 'FAILURE' : 'SUCCESS',
    level: index % 7 === 0 ? 'error' : 'info',
    workflow_id: `batch-${index % 5}`,
    message: `batch step ${index} done`
  }))
  const bulkStored = await postLogs(app, admin.apiKey, bulk)
  if (bulkStored.statusCode !== 201) throw new Error(`seeding A's bulk answered ${bulkStored.statusCode}: ${bulkStored.body}`)

  const theirs = await postLogs(app, other.apiKey, [1, 2, 3].map((n) => ({
    environment: 'production', executed_at: new Date(now - n * 7 * MINUTE).toISOString(), status: 'SUCCESS', workflow_id: 'nightly-etl', message: `globex private entry ${n}`
  })))
  if (theirs.statusCode !== 201) throw new Error(`seeding B answered ${theirs.statusCode}: ${theirs.body}`)

  return { app, base: `http://127.0.0.1:${await loopbackPort(app)}`, admin, writer, other, ids, lastDay: NAMED_LOGS.length - 1 + BULK_LOGS }
}
