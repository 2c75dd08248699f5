import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.ts'

/** The database, or a transaction on it: what a function that may join its caller's transaction takes. */
export type Db = Kysely<Database> | Transaction<Database>

/** Runs the work in the caller's transaction, or in a new one. */
export async function inTransaction<T> (db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? await work(db as Transaction<Database>) : await db.transaction().execute(work)
}
