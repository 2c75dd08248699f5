import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.ts'

/** Runs the work in the caller's transaction, or in a new one. */
export async function inTransaction<T> (db: Kysely<Database> | Transaction<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? await work(db as Transaction<Database>) : await db.transaction().execute(work)
}
