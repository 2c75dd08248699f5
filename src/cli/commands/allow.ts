// keys allow <key_id> <cidr,...> | --any: sets or removes a key's address allowlist.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { InvalidCidrError, normalizeAllowlist } from '../../keys/allowlist.ts'
import { updateKey } from '../../keys/lifecycle.ts'
import { presentKey } from '../../keys/present.ts'
import { cliActor, keyIdArgument } from '../actor.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'
import { EVERY_CLIENT } from '../../provider/every-client.ts'

/** A comma- or space-separated list of ranges, normalized; a bad one is a usage error. */
export function parseAllowlist (text: string): string[] {
  try {
    return normalizeAllowlist(text.split(/[,\s]+/).filter((range) => range !== ''))
  } catch (error) {
    if (error instanceof InvalidCidrError) throw new UsageError(error.message)
    throw error
  }
}

export async function allow (db: Kysely<Database>, keyIdText: string, ranges: string | undefined, any: boolean): Promise<CommandResult> {
  const keyId = keyIdArgument(keyIdText)
  if (any === (ranges !== undefined)) throw new UsageError('allow takes either CIDR ranges or --any (to accept any address), not both or neither.')
  const allowedCidrs = any ? null : parseAllowlist(ranges!)
  const key = await updateKey(db, { keyId, scope: EVERY_CLIENT, changes: { allowedCidrs } }, cliActor())
  return {
    json: { key: presentKey(key) },
    text: allowedCidrs === null
      ? `Key ${key.id} (${shown(key.prefix)}…) accepts requests from any address.`
      : `Key ${key.id} (${shown(key.prefix)}…) accepts requests only from ${allowedCidrs.join(', ')}.`
  }
}
