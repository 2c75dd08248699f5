// Storing a request's checked entries for its client, as `fastify.ingest`:
// the one path every ingest route takes (the native route, the shipper
// protocols), so that each applies the same rules. The entries are admitted
// against the client's per-minute budget (entries and bytes, one budget
// across routes) and its storage quota, written by group commit, and
// counted in usage; a failed write gives the budget back.
import fp from 'fastify-plugin'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import { Errors } from '../errors.ts'
import { MemoryIngestBudget, RedisIngestBudget, type IngestBudget, type IngestVolume } from '../logs/ingest-budget.ts'
import type { StoredEntry } from '../logs/tenant-logs.ts'
import type { NormalizedEntry } from '../logs/validate.ts'
import type { IngestProtocol } from '../metrics/metrics.ts'

export interface IngestOptions {
  /** The route the entries came by, for metrics. */
  protocol: IngestProtocol
  /** Whether the answer needs each stored log, not only its id (group-insert.ts). */
  withLogs: boolean
  /** Entries of the same request refused before they got here, counted in usage as rejected. */
  rejected: number
}

export interface Ingest {
  /**
   * Stores the entries, answered once committed with one result per entry,
   * in order: 413 when they could never fit the client's per-minute limits,
   * 403 at its storage quota, 429 when they do not fit this minute (nothing
   * taken, nothing stored).
   */
  store: (client: AuthenticatedClient, entries: readonly NormalizedEntry[], options: IngestOptions) => Promise<StoredEntry[]>
  /** Counts a request refused whole for its entries, in usage and metrics. */
  reject: (client: AuthenticatedClient, entries: number, protocol: IngestProtocol) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    ingest: Ingest
  }
}

function sumOf (numbers: Iterable<number>): number {
  let sum = 0
  for (const number of numbers) sum += number
  return sum
}

export default fp(async function ingest (fastify) {
  const config = fastify.config
  const metrics = fastify.metrics
  const budget: IngestBudget = fastify.redis === undefined
    ? new MemoryIngestBudget()
    : new RedisIngestBudget(fastify.redis, (error) => { fastify.log.debug({ err: error }, 'ingest volume not counted: Redis unreachable') },
      config.REDIS_PREFIX)

  /** Refuses a client at or over its storage quota; a client without one costs no database read. */
  async function checkStorageQuota (client: AuthenticatedClient): Promise<void> {
    const quota = client.storageQuotaBytes ?? config.STORAGE_QUOTA_BYTES
    if (quota === 0) return
    const stored = await fastify.usage.storedBytes(client)
    if (stored >= quota) {
      metrics.limited('storage_quota', client.id)
      throw Errors.storageQuotaExceeded(stored, quota)
    }
  }

  /** Takes the entries and bytes from the client's minute, both together, or refuses them taking nothing. */
  async function admit (client: AuthenticatedClient, volume: IngestVolume): Promise<{ refund: () => Promise<void> }> {
    const limits = {
      entries: client.ingestRateLimit ?? config.INGEST_RATE_LIMIT,
      bytes: client.ingestBytesLimit ?? config.INGEST_BYTES_LIMIT
    }
    if (volume.entries > limits.entries) throw Errors.batchOverIngestLimit(volume.entries, limits.entries)
    if (volume.bytes > limits.bytes) throw Errors.batchOverIngestBytesLimit(volume.bytes, limits.bytes)
    await checkStorageQuota(client)
    const decision = await budget.take(client.id, volume, limits, fastify.ingestClock())
    if (decision.ok) return decision
    metrics.limited(decision.over === 'entries' ? 'ingest_entries' : 'ingest_bytes', client.id)
    throw decision.over === 'entries'
      ? Errors.ingestRateLimited(volume.entries, limits.entries, decision.used.entries, decision.retryAfterSeconds)
      : Errors.ingestBytesRateLimited(volume.bytes, limits.bytes, decision.used.bytes, decision.retryAfterSeconds)
  }

  async function store (client: AuthenticatedClient, entries: readonly NormalizedEntry[], options: IngestOptions): Promise<StoredEntry[]> {
    const { protocol } = options
    metrics.entries(protocol, 'rejected', options.rejected, client.id)
    let stored: StoredEntry[]
    try {
      const taken = await admit(client, { entries: entries.length, bytes: sumOf(entries.map((entry) => entry.size_bytes)) })
      try {
        stored = await fastify.logWriter.write({ client, entries, withLogs: options.withLogs })
      } catch (error) {
        await taken.refund()
        throw error
      }
    } catch (error) {
      metrics.entries(protocol, 'refused', entries.length, client.id)
      throw error
    }
    const duplicates = stored.filter((result) => result.duplicate).length
    metrics.entries(protocol, 'stored', stored.length - duplicates, client.id)
    metrics.entries(protocol, 'duplicate', duplicates, client.id)
    fastify.usage.addStoredBytes(client.id, sumOf(entries.map((entry, i) => stored[i]!.duplicate ? 0 : entry.size_bytes)))
    fastify.usage.count(client.id, { logs_accepted: stored.length - duplicates, logs_duplicates: duplicates, logs_rejected: options.rejected })
    return stored
  }

  fastify.decorate('ingest', {
    store,
    reject: (client, entries, protocol) => {
      metrics.entries(protocol, 'rejected', entries, client.id)
      fastify.usage.count(client.id, { logs_rejected: entries })
    }
  } satisfies Ingest)
}, { name: 'ingest', dependencies: ['env', 'redis', 'usage', 'log-writer', 'metrics'] })
