// The suite's own reuse of test databases (reused-databases.ts): a test that
// follows another on the same database finds it as a fresh copy, and a
// database whose schema a test changed is not used again.
import pg from 'pg'
import t from 'tap'
import { onDatabase } from '../scripts/lib/server-databases.ts'
import { testDatabaseUrl } from './helper.ts'

async function query<T extends pg.QueryResultRow> (url: string, text: string): Promise<T[]> {
  return await onDatabase(url, async (client) => (await client.query<T>(text)).rows)
}

const reuses = process.env.TEST_TEMPLATE_DATABASE !== undefined && process.env.TEST_TEMPLATE_DATABASE !== ''
const notReused = reuses ? false : 'TEST_TEMPLATE_DATABASE is not set (the file runs outside npm test): every test gets a new database, nothing is reused'

void t.test('a database is used again, emptied, once its test has ended', { skip: notReused }, async (t) => {
  let first = ''
  let left: pg.Client | undefined
  await t.test('a test writes rows and leaves a session open', async (t) => {
    first = await testDatabaseUrl(t)
    await query(first, 'insert into clients (name) values (\'acme\')')
    await query(first, 'insert into audit_events (event, actor, reason) values (\'auth.failed\', \'service\', \'invalid_api_key\')')
    left = new pg.Client({ connectionString: first })
    left.on('error', () => {})
    await left.connect()
    await left.query('begin; lock table logs in access share mode')
    t.same(await query(first, 'select name from clients'), [{ name: 'acme' }], 'the row is written')
  })
  await t.test('the next test gets the same database, as a fresh copy', async (t) => {
    const url = await testDatabaseUrl(t)
    t.equal(url, first, 'the database is the one set aside')
    t.same(await query(url, 'select name from clients'), [], 'no row is left')
    t.same(await query(url, 'select count(*)::int as n from audit_events'), [{ n: 0 }], 'not even in the append-only table')
    await query(url, 'insert into audit_events (event, actor, reason) values (\'auth.failed\', \'service\', \'invalid_api_key\')')
    t.same(await query(url, 'select id::int from audit_events'), [{ id: 1 }], 'identities start again')
    t.same(await query(url, 'select count(*)::int as n from pg_stat_activity where datname = current_database()'), [{ n: 1 }],
      'the session the earlier test left open was ended')
  })
  await left?.end().catch(() => {})
})

void t.test('a database whose schema a test changed is not used again', { skip: notReused }, async (t) => {
  let changed = ''
  await t.test('a test adds a trigger', async (t) => {
    changed = await testDatabaseUrl(t)
    await query(changed, `create function refuse () returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;
                          create trigger refuse before insert on clients for each row execute function refuse()`)
    t.same(await query(changed, 'select tgname from pg_trigger where tgname = \'refuse\''), [{ tgname: 'refuse' }], 'the trigger is there')
  })
  await t.test('the next test gets another database, without it', async (t) => {
    const url = await testDatabaseUrl(t)
    t.not(url, changed)
    t.same(await query(url, 'select tgname from pg_trigger where tgname = \'refuse\''), [])
  })
})
