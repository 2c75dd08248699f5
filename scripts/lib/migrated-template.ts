// A database migrated once for the whole test run. Each test's database is a
// copy of it (`CREATE DATABASE … TEMPLATE`), which takes a fraction of the time
// that running every migration on an empty database does, hundreds of times.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'

async function onAdmin (adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

/** Makes and migrates a template database on the server of `adminUrl`, runs `work` with its name, then drops it. */
export async function withMigratedTemplate<T> (adminUrl: string, work: (template: string) => Promise<T>): Promise<T> {
  const template = `cl_template_${randomBytes(6).toString('hex')}`
  await onAdmin(adminUrl, `CREATE DATABASE ${template}`)
  try {
    const url = new URL(adminUrl)
    url.pathname = `/${template}`
    // A template must have no session open while it is copied: this one ends here.
    const db = connect(url.toString(), { poolMax: 1 })
    try {
      await migrateToLatest(db)
    } finally {
      await db.destroy()
    }
    return await work(template)
  } finally {
    await onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
  }
}
