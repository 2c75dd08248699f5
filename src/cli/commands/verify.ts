// keys verify <api_key> | --client NAME: would the key (or each of the
// client's keys) be accepted right now, and if not, why.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { KeyResolver } from '../../keys/resolver.ts'
import { listClientsWithKeys } from '../../keys/store.ts'
import { refusalOf } from '../../keys/status.ts'
import { UsageError, type CommandResult } from '../output.ts'

export async function verifyKey (db: Kysely<Database>, apiKey: string): Promise<CommandResult> {
  // The service's own resolution, uncached: the same answer a request would get.
  const resolver = new KeyResolver(db, { ttlMs: 0, max: 1 })
  try {
    const client = await resolver.resolve(apiKey.trim())
    return {
      json: { accepted: true, client_id: client.id, client_name: client.name, key_id: client.keyId, key_prefix: client.keyPrefix, scopes: client.scopes },
      text: `accepted: key ${client.keyId} (${client.keyPrefix}…) of client ${client.name}, scopes ${client.scopes.join(' ')}`
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error
    return {
      json: { accepted: false, code: error.code, reason: error.message },
      text: `refused (${error.code}): ${error.message}`,
      exitCode: 1
    }
  }
}

export async function verifyClient (db: Kysely<Database>, clientName: string): Promise<CommandResult> {
  const [client] = await listClientsWithKeys(db, { clientName })
  if (client === undefined) throw new UsageError(`No client named "${clientName}".`)
  const now = new Date()
  const keys = client.keys.map((key) => {
    const refusal = refusalOf(key, now)
    return { key_id: key.id, key_prefix: key.prefix, accepted: refusal === undefined, reason: refusal ?? null }
  })
  const accepted = keys.filter((key) => key.accepted).length
  return {
    json: { client_id: client.id, client_name: client.name, accepted_keys: accepted, keys },
    text: [
      `${client.name}: ${accepted} of ${keys.length} key(s) accepted`,
      ...keys.map((key) => `  ${key.key_id}  ${key.key_prefix}…  ${key.accepted ? 'accepted' : `refused: ${key.reason ?? ''}`}`)
    ].join('\n'),
    exitCode: accepted > 0 ? 0 : 1
  }
}
