// keys revoke <key_id>: refused at once, on every running instance (they hear
// of the change through a database notification).
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { revokeKey } from '../../keys/lifecycle.ts'
import { presentKey } from '../../keys/present.ts'
import { cliActor, keyIdArgument } from '../actor.ts'
import { shown, when, type CommandResult } from '../output.ts'
import { EVERY_CLIENT } from '../../provider/every-client.ts'

export async function revoke (db: Kysely<Database>, keyIdText: string): Promise<CommandResult> {
  const { key, revoked } = await revokeKey(db, { keyId: keyIdArgument(keyIdText), scope: EVERY_CLIENT }, cliActor())
  return {
    json: { revoked, key: presentKey(key) },
    text: revoked
      ? `Revoked key ${key.id} (${shown(key.prefix)}…): every running instance refuses it from now on.`
      : `Key ${key.id} (${shown(key.prefix)}…) was already revoked, at ${when(key.revoked_at)}; nothing changed.`
  }
}
