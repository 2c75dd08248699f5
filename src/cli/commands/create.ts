// keys create <client_name>: the client if new, and a key for it.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { createKeyWithAudit, setClientRateLimit } from '../../keys/lifecycle.ts'
import { rateLimitOption } from './limit.ts'
import { findOrCreateClient } from '../../keys/store.ts'
import { cliActor } from '../actor.ts'
import { parseAllowlist } from './allow.ts'
import { DEFAULT_SCOPES, SCOPES, isScope, type Scope } from '../../keys/scopes.ts'
import { durationOption } from '../duration.ts'
import { UsageError, when, type CommandResult } from '../output.ts'

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

  const allowedCidrs = options.allow === undefined ? null : parseAllowlist(options.allow)
  const rateLimit = options.rateLimit === undefined ? undefined : rateLimitOption('--rate-limit', options.rateLimit)

  const { client, created, apiKey, info } = await db.transaction().execute(async (trx) => {
    const found = await findOrCreateClient(trx, options.clientName)
    if (rateLimit !== undefined) await setClientRateLimit(trx, found.client.id, rateLimit, cliActor())
    const key = await createKeyWithAudit(trx, { clientId: found.client.id, scopes, name: options.name ?? null, expiresAt, allowedCidrs }, cliActor())
    return { ...found, ...key }
  })
  // The same key as a development key, for a .env file (single-quoted: the JSON holds double quotes).
  const envLine = `API_KEYS='${JSON.stringify({ [apiKey]: { id: client.id, name: client.name, scopes } })}'`

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
    'Keep the key secret. If it leaks, tell us at once and we will revoke it.'
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
      rate_limit: rateLimit ?? client.rate_limit,
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
      `Limit:    ${(rateLimit ?? client.rate_limit) === null ? 'the service\'s RATE_LIMIT_MAX' : `${rateLimit ?? client.rate_limit} requests`} per window (all the client's keys)`,
      '',
      'For a development .env (a plaintext key: never in production):',
      `  ${envLine}`,
      // API_KEYS has no field for either, so the development copy of the key would quietly lack them.
      ...(expiresAt === null && allowedCidrs === null ? [] : ['  (as a development key it has no expiry and no allowlist)']),
      '',
      'Message to send to the client:',
      '-----',
      handOver,
      '-----'
    ].join('\n')
  }
}
