// The keys of one client, the only way a route reaches the api_keys table: as
// logsOf is for logs, every operation here is bound to the client it was made
// for, so a route cannot leave the client out. The provider's CLI, which acts
// on any client's keys, uses the scoped functions of store.ts and
// lifecycle.ts directly; ESLint keeps route files to this module.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { Actor } from '../audit/store.ts'
import { createKeyWithAudit, revokeKey, rotateKey, updateKey, type KeyChanges, type KeyGuard, type Revocation, type RotateOptions, type Rotation } from './lifecycle.ts'
import { keysPageOf } from './page.ts'
import { findKey, type KeyInfo, type NewKey } from './store.ts'

/** Which of the client's keys, and who may act on it. */
export interface ClientKeyTarget {
  keyId: string
  guard?: KeyGuard
}

export interface ClientKeys {
  page: (page: { after?: string, limit: number }) => ReturnType<typeof keysPageOf>
  find: (keyId: string) => Promise<KeyInfo | undefined>
  create: (key: Omit<NewKey, 'clientId'>, actor: Actor) => Promise<{ apiKey: string, info: KeyInfo }>
  rotate: (options: ClientKeyTarget & Omit<RotateOptions, 'keyId' | 'scope' | 'guard'>, actor: Actor) => Promise<Rotation>
  update: (options: ClientKeyTarget & { changes: KeyChanges }, actor: Actor) => Promise<KeyInfo>
  revoke: (options: ClientKeyTarget, actor: Actor) => Promise<Revocation>
}

export function keysOf (db: Kysely<Database>, client: { id: string }): ClientKeys {
  const scope = { clientId: client.id }
  return {
    page: async (page) => await keysPageOf(db, client.id, page),
    find: async (keyId) => await findKey(db, scope, keyId),
    create: async (key, actor) => await createKeyWithAudit(db, { ...key, clientId: client.id }, actor),
    rotate: async (options, actor) => await rotateKey(db, { ...options, scope }, actor),
    update: async (options, actor) => await updateKey(db, { ...options, scope }, actor),
    revoke: async (options, actor) => await revokeKey(db, { ...options, scope }, actor)
  }
}
