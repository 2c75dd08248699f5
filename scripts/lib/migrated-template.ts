// A database migrated once for the whole test run. Each test's database is a
// copy of it (`CREATE DATABASE … TEMPLATE`), which takes a fraction of the time
// that running every migration on an empty database does, hundreds of times.
import { randomBytes } from 'node:crypto'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { databaseUrl, onServer } from './server-databases.ts'

/** Makes and migrates a template database on the server of `adminUrl`, runs `work` with its name, then drops it. */
export async function withMigratedTemplate<T> (adminUrl: string, work: (template: string) => Promise<T>): Promise<T> {
  const template = `cl_template_${randomBytes(6).toString('hex')}`
  await onServer(adminUrl, `CREATE DATABASE ${template}`)
  try {
    // A template must have no session open while it is copied: this one ends here.
    const db = connect(databaseUrl(adminUrl, template), { poolMax: 1 })
    try {
      await migrateToLatest(db)
    } finally {
      await db.destroy()
    }
    return await work(template)
  } finally {
    await onServer(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
  }
}
