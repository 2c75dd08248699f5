// keys limit <client_name> [N | default] [--requests N|default] [--entries N|default]
// [--bytes N|default] [--storage N|none|default]: the client's own request rate
// limit per window, log entries and bytes per minute, and storage quota, in
// effect on every running instance at once. Without a value it shows them,
// with the bytes the client stores.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { setClientLimits, type ClientLimits } from '../../clients/settings.ts'
import { storedBytesOf } from '../../logs/stored-bytes.ts'
import { formatBytes } from '../../bytes.ts'
import { cliActor } from '../actor.ts'
import { byteSizeOption, withUnit } from '../byte-size.ts'
import { noClientNamed } from '../clients.ts'
import { wholeNumberOption } from '../options.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'
import { findClientByName } from '../../clients/store.ts'

/** A limit on the command line: a whole number, or `default` for the service's. */
export function limitOption (option: string, text: string): number | null {
  return text.trim() === 'default' ? null : wholeNumberOption(option, text, 1, 1_000_000_000)
}

/**
 * Bytes per minute on the command line, or `default`. Never below the largest
 * request body the service takes, or a request of that size could never be accepted.
 */
export function bytesLimitOption (option: string, text: string, maxBodyBytes: number): number | null {
  if (text.trim() === 'default') return null
  const bytes = byteSizeOption(option, text, 1)
  if (bytes < maxBodyBytes) {
    throw new UsageError(`${option} "${text}" must be at least MAX_BODY_BYTES, ${withUnit(maxBodyBytes)}: ` +
      'a request of the largest size the service takes could otherwise never be accepted.')
  }
  return bytes
}

/** A storage quota on the command line: a byte count, `none`, or `default` for the service's. */
export function storageQuotaOption (option: string, text: string): number | null {
  const word = text.trim()
  if (word === 'default') return null
  if (word === 'none') return 0
  if (/^0+$/.test(word)) throw new UsageError(`${option} "${text}": a quota of nothing would refuse every log; for no quota, write none.`)
  return byteSizeOption(option, text, 1)
}

/** The service's defaults, to say what "default" means, and its largest request body. */
export interface LimitDefaults {
  rateLimit: number
  window: string
  ingestRateLimit: number
  ingestBytesLimit: number
  /** 0: no quota. */
  storageQuotaBytes: number
  maxBodyBytes: number
}

export interface LimitOptions {
  clientName: string
  /** Requests per window: the positional value or --requests. */
  requests?: string
  /** Log entries per minute. */
  entries?: string
  /** Counted bytes of log entries per minute. */
  bytes?: string
  /** Counted bytes of stored logs, `none` or `default`. */
  storage?: string
  defaults: LimitDefaults
}

export async function limit (db: Kysely<Database>, options: LimitOptions): Promise<CommandResult> {
  const { defaults } = options
  const changes: ClientLimits = {
    ...(options.requests === undefined ? {} : { rateLimit: limitOption('The request limit', options.requests) }),
    ...(options.entries === undefined ? {} : { ingestRateLimit: limitOption('--entries', options.entries) }),
    ...(options.bytes === undefined ? {} : { ingestBytesLimit: bytesLimitOption('--bytes', options.bytes, defaults.maxBodyBytes) }),
    ...(options.storage === undefined ? {} : { storageQuotaBytes: storageQuotaOption('--storage', options.storage) })
  }
  const client = await findClientByName(db, options.clientName)
  if (client === undefined) throw noClientNamed(options.clientName)
  const changed = Object.keys(changes).length > 0
  if (changed) await setClientLimits(db, client.id, changes, cliActor())
  const stored = await storedBytesOf(db, client)

  const after = <T>(change: T | undefined, before: T): T => change !== undefined ? change : before
  const rateLimit = after(changes.rateLimit, client.rate_limit)
  const ingestRateLimit = after(changes.ingestRateLimit, client.ingest_rate_limit)
  const ingestBytesLimit = after(changes.ingestBytesLimit, client.ingest_bytes_limit)
  const storageQuota = after(changes.storageQuotaBytes, client.storage_quota_bytes)
  const effectiveQuota = storageQuota ?? defaults.storageQuotaBytes

  const service = (setting: string, own: unknown): string => own === null ? ` (the service's ${setting})` : ''
  const requests = `${rateLimit ?? defaults.rateLimit} requests per ${defaults.window}${service('RATE_LIMIT_MAX', rateLimit)}`
  const entries = `${ingestRateLimit ?? defaults.ingestRateLimit} log entries per minute${service('INGEST_RATE_LIMIT', ingestRateLimit)}`
  const bytes = `at most ${formatBytes(ingestBytesLimit ?? defaults.ingestBytesLimit)} of them per minute${service('INGEST_BYTES_LIMIT', ingestBytesLimit)}`
  const quota = (effectiveQuota === 0 ? 'no storage quota' : `a storage quota of ${formatBytes(effectiveQuota)}`) +
    service('STORAGE_QUOTA_BYTES', storageQuota)
  return {
    json: {
      client_id: client.id,
      client_name: client.name,
      rate_limit: rateLimit,
      effective_rate_limit: rateLimit ?? defaults.rateLimit,
      window: defaults.window,
      ingest_rate_limit: ingestRateLimit,
      effective_ingest_rate_limit: ingestRateLimit ?? defaults.ingestRateLimit,
      ingest_bytes_limit: ingestBytesLimit,
      effective_ingest_bytes_limit: ingestBytesLimit ?? defaults.ingestBytesLimit,
      /** null: the service's; 0: none. */
      storage_quota_bytes: storageQuota,
      /** null: none. */
      effective_storage_quota_bytes: effectiveQuota === 0 ? null : effectiveQuota,
      stored_bytes: stored,
      changed
    },
    text: `${shown(client.name)} may make ${requests} and send ${entries}, ${bytes}, across all its keys. ` +
      `It stores ${stored} bytes of logs, with ${quota}.` +
      (changed ? ' Every running instance applies it at once.' : '')
  }
}

/** The positional value and --requests say the same thing: only one of them. */
export function requestLimitArgument (positional: string | undefined, option: string | undefined): string | undefined {
  if (positional !== undefined && option !== undefined) throw new UsageError('Give the request limit once: as the argument or as --requests.')
  return positional ?? option
}
