// Whether the database folds case beyond ASCII, which searches (`?q=`, ILIKE)
// rely on. A SQL_ASCII database (the embedded cluster of earlier versions,
// initialised without LANG) or one whose character type is plain C leaves É
// and é apart; the service still runs on it, and says so at start.
import { sql, type Kysely } from 'kysely'

export interface CaseFolding {
  folds: boolean
  encoding: string
}

export async function caseFolding<T> (db: Kysely<T>): Promise<CaseFolding> {
  const { rows } = await sql<CaseFolding>`
    select lower('É') = 'é' as folds, pg_encoding_to_char(encoding) as encoding
    from pg_database where datname = current_database()`.execute(db)
  return rows[0] ?? { folds: true, encoding: 'UTF8' }
}
