// SIGKILL of the service in the middle of a load of posts with event_ids:
// the clients retry whatever got no 201 (their requests cut, refused while
// it is down), the service is started again on the same database, and every
// event ends up stored exactly once.
import t from 'tap'
import { testDatabaseUrl } from '../helper.ts'
import { describeLoad, expectExactlyOnce, startLoad } from './load.ts'
import { migratedWithTenant } from './own-postgres.ts'
import { errorLines, killService, startService, until } from './service.ts'

t.setTimeout(180_000)

void t.test('SIGKILL under a load of event_ids, restart, retries: every event stored exactly once', async (t) => {
  const url = await testDatabaseUrl(t)
  const tenant = await migratedWithTenant(url)
  const env = { DATABASE_URL: url }
  const first = await startService(t, 'first', env)
  let target = first.base

  const load = startLoad({ target: () => target, apiKey: tenant.apiKey, events: 3000, concurrency: 20, retryDelayMs: 100 })
  await until('a third of the load stored', () => load.stored() >= 1000, 60_000)
  await killService(first)
  const killedAt = load.stored()
  t.ok(killedAt < 3000, `killed with ${killedAt} of 3000 events answered 201`)

  const second = await startService(t, 'second', env)
  target = second.base
  await load.done
  t.comment(describeLoad(load))
  t.ok(load.unanswered > 0, `${load.unanswered} attempts went unanswered while no service ran`)
  t.same(Object.keys(load.statuses).filter((status) => status !== '201'), [], 'every answer the service gave was 201')
  await expectExactlyOnce(t, url, tenant.clientId, load)
  t.same(errorLines(second), [], 'the restarted service logged no error')
})
