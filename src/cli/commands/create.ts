// keys create <client_name>: the client if new, and a key for it.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { createKeyWithAudit } from '../../keys/lifecycle.ts'
import { issueSigningSecret, setClientLimits } from '../../clients/settings.ts'
import { bytesLimitOption, limitOption, storageQuotaOption } from './limit.ts'
import { findOrCreateClient } from '../../clients/store.ts'
import { cliActor } from '../actor.ts'
import { parseAllowlist } from './allow.ts'
import { DEFAULT_SCOPES, SCOPES, isScope, type Scope } from '../../keys/scopes.ts'
import { durationOption } from '../duration.ts'
import { ingestDefaultOption, keyNameOption } from '../options.ts'
import { UsageError, when, type CommandResult } from '../output.ts'
import { formatBytes } from '../../bytes.ts'
import { DEFAULT_MAX_BODY_BYTES } from '../../config.ts'

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export interface CreateOptions {
  clientName: string
  scopes?: string
  expiresIn?: string
  name?: string
  /** CIDR ranges, comma-separated. */
  allow?: string
  /** The client's own requests per rate limit window, or `default`. */
  rateLimit?: string
  /** The client's own log entries per minute, or `default`. */
  ingestLimit?: string
  /** The client's own bytes of log entries per minute, or `default`. */
  ingestBytesLimit?: string
  /** The client's own storage quota in bytes, `none` or `default`. */
  storageQuota?: string
  /** The service's largest request body, which no bytes limit may be below (default: MAX_BODY_BYTES' default). */
  maxBodyBytes?: number
  /** The client's default environment for logs that name none, or `default`. */
  environment?: string
  /** The client's default status for logs that have none, or `default`. */
  status?: string
  /** Make the client sign its requests (a secret is issued unless it signs already). */
  signing?: boolean
  signingKey?: string
  publicUrl: string
}

export function parseScopes (text: string | undefined): Scope[] {
  if (text === undefined) return DEFAULT_SCOPES
  const scopes = [...new Set(text.split(/[,\s]+/).filter((scope) => scope !== ''))]
  const unknown = scopes.filter((scope) => !isScope(scope))
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`Unknown scope ${unknown.join(', ') || '(none given)'}: use ${SCOPES.join(', ')}.`)
  }
  return scopes as Scope[]
}

export async function create (db: Kysely<Database>, options: CreateOptions): Promise<CommandResult> {
  if (!CLIENT_NAME.test(options.clientName)) {
    throw new UsageError('A client name is 1-128 letters, digits, dots, dashes or underscores, starting with a letter or digit.')
  }
  const scopes = parseScopes(options.scopes)
  const expiresAt = options.expiresIn === undefined ? null : new Date(Date.now() + durationOption('--expires-in', options.expiresIn) * 1000)

  const name = options.name === undefined ? null : keyNameOption('--name', options.name)
  const allowedCidrs = options.allow === undefined ? null : parseAllowlist(options.allow)
  const rateLimit = options.rateLimit === undefined ? undefined : limitOption('--rate-limit', options.rateLimit)
  const ingestRateLimit = options.ingestLimit === undefined ? undefined : limitOption('--ingest-limit', options.ingestLimit)
  const ingestBytesLimit = options.ingestBytesLimit === undefined
    ? undefined
    : bytesLimitOption('--ingest-bytes-limit', options.ingestBytesLimit, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)
  const storageQuotaBytes = options.storageQuota === undefined ? undefined : storageQuotaOption('--storage-quota', options.storageQuota)
  const defaultEnvironment = options.environment === undefined ? undefined : ingestDefaultOption('--environment', options.environment)
  const defaultStatus = options.status === undefined ? undefined : ingestDefaultOption('--status', options.status)

  const { client, created, apiKey, info, signingSecret } = await db.transaction().execute(async (trx) => {
    const found = await findOrCreateClient(trx, options.clientName)
    await setClientLimits(trx, found.client.id, { rateLimit, ingestRateLimit, ingestBytesLimit, storageQuotaBytes, defaultEnvironment, defaultStatus },
      cliActor())
    const key = await createKeyWithAudit(trx, { clientId: found.client.id, scopes, name, expiresAt, allowedCidrs }, cliActor())
    // A client that signs already keeps its secret: its other keys use it too.
    const signing = options.signing === true && found.client.signing_generation === null
      ? await issueSigningSecret(trx, found.client.id, options.signingKey, cliActor())
      : undefined
    return { ...found, ...key, signingSecret: signing?.secret }
  })
  const signs = signingSecret !== undefined || client.signing_generation !== null
  const effectiveRateLimit = rateLimit === undefined ? client.rate_limit : rateLimit
  const effectiveIngestLimit = ingestRateLimit === undefined ? client.ingest_rate_limit : ingestRateLimit
  const ownIngestBytesLimit = ingestBytesLimit === undefined ? client.ingest_bytes_limit : ingestBytesLimit
  const ownStorageQuota = storageQuotaBytes === undefined ? client.storage_quota_bytes : storageQuotaBytes
  const ownEnvironment = defaultEnvironment === undefined ? client.default_environment : defaultEnvironment
  const ownStatus = defaultStatus === undefined ? client.default_status : defaultStatus
  // The same key as a development key, for a .env file (single-quoted: the JSON holds double quotes).
  const devKey = { id: client.id, name: client.name, scopes, ...(signingSecret === undefined ? {} : { secret_key: signingSecret }) }
  const envLine = `API_KEYS='${JSON.stringify({ [apiKey]: devKey })}'`

  const ingestUrl = `${options.publicUrl.replace(/\/+$/, '')}/api/v1/logs`
  const handOver = [
    `Your central-logger API key for "${client.name}":`,
    '',
    `  ${apiKey}`,
    '',
    `Send logs with POST ${ingestUrl}, the key in the X-API-Key header (or Authorization: Bearer <key>):`,
    '',
    `  curl -X POST ${ingestUrl} \\`,
    `    -H 'X-API-Key: ${apiKey}' -H 'Content-Type: application/json' \\`,
    `    -d '{"environment":"production","executed_at":"${new Date().toISOString()}","status":"SUCCESS","message":"hello"}'`,
    '',
    `Scopes: ${scopes.join(' ')}. Expires: ${when(expiresAt)}.` +
      (allowedCidrs === null ? '' : ` Accepted only from ${allowedCidrs.join(', ')}.`),
    ...(signs
      ? ['', signingSecret === undefined
          ? 'Every request must be signed with your signing secret (you were given it before).'
          : `Every request must be signed with this signing secret (X-API-Timestamp, X-API-Nonce, X-API-Signature):\n\n  ${signingSecret}`]
      : []),
    '',
    'Keep the key' + (signingSecret === undefined ? '' : ' and the secret') + ' secret. If ' +
      (signingSecret === undefined ? 'it leaks' : 'either leaks') + ', tell us at once and we will revoke it.'
  ].join('\n')

  return {
    json: {
      client_id: client.id,
      client_name: client.name,
      client_created: created,
      key_id: info.id,
      key_prefix: info.prefix,
      api_key: apiKey,
      scopes,
      expires_at: expiresAt?.toISOString() ?? null,
      allowed_cidrs: allowedCidrs,
      rate_limit: effectiveRateLimit,
      ingest_rate_limit: effectiveIngestLimit,
      ingest_bytes_limit: ownIngestBytesLimit,
      storage_quota_bytes: ownStorageQuota,
      default_environment: ownEnvironment,
      default_status: ownStatus,
      signs,
      signing_secret: signingSecret ?? null,
      created_at: info.created_at.toISOString(),
      env_line: envLine,
      message: handOver
    },
    text: [
      `Client:   ${client.name} (${client.id})${created ? ', new' : ''}`,
      `Key id:   ${info.id}`,
      `API key:  ${apiKey}`,
      '          shown this once only: only its hash is stored',
      `Scopes:   ${scopes.join(' ')}`,
      `Expires:  ${when(expiresAt)}`,
      `Allowed:  ${allowedCidrs === null ? 'any address' : allowedCidrs.join(', ')}`,
      `Limits:   ${effectiveRateLimit === null ? 'the service\'s RATE_LIMIT_MAX' : `${effectiveRateLimit} requests`} per window, ` +
        `${effectiveIngestLimit === null ? 'the service\'s INGEST_RATE_LIMIT' : `${effectiveIngestLimit} log entries`} and ` +
        `${ownIngestBytesLimit === null ? 'INGEST_BYTES_LIMIT' : formatBytes(ownIngestBytesLimit)} per minute (all the client's keys), ` +
        `${ownStorageQuota === null ? 'the service\'s STORAGE_QUOTA_BYTES' : ownStorageQuota === 0 ? 'no storage quota' : `a storage quota of ${formatBytes(ownStorageQuota)}`}`,
      ...(ownEnvironment === null && ownStatus === null
        ? []
        : [`Defaults: for logs that leave them out, environment ${ownEnvironment ?? '(none)'}, status ${ownStatus ?? '(none)'}`]),
      ...(signingSecret !== undefined
        ? [`Signing:  ${signingSecret}`, '          the signing secret, shown this once only: it is derived from SIGNING_KEY, never stored']
        : signs ? ['Signing:  required (the client\'s secret was issued before; `keys signing <client> rotate` issues a new one)'] : []),
      '',
      'For a development .env (a plaintext key: never in production):',
      `  ${envLine}`,
      // API_KEYS has no field for these, so the development copy of the key would quietly lack them.
      ...(expiresAt === null && allowedCidrs === null ? [] : ['  (as a development key it has no expiry and no allowlist)']),
      ...(signs && signingSecret === undefined ? ['  (as a development key it does not sign: add "secret_key" with the client\'s secret)'] : []),
      '',
      'Message to send to the client:',
      '-----',
      handOver,
      '-----'
    ].join('\n')
  }
}
