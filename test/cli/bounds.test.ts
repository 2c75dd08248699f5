// Every number the CLI takes is accepted up to the bound its message names,
// and refused one past it with that message: the bounds are values, not a
// count of digits (a 10-digit 1000000000 or 3153600000s is within them).
import t from 'tap'
import { testDatabaseUrl } from '../helper.ts'
import { keys, parsed, type Created } from './run.ts'

void t.test('each numeric option: the maximum is accepted, one more is refused with a message naming the maximum', async (t) => {
  const url = await testDatabaseUrl(t)
  const created = parsed<Created>(await keys(url, ['create', 'acme', '--ingest-limit', '1000000000', '--rate-limit', '1000000000',
    '--expires-in', '36500d', '--json']))
  t.match(created, { ingest_rate_limit: 1_000_000_000, rate_limit: 1_000_000_000 }, 'create: both limits at their maximum')

  const accepted: string[][] = [
    ['create', 'acme', '--expires-in', '3153600000s'],
    ['limit', 'acme', '1000000000'],
    ['limit', 'acme', '--requests', '1000000000', '--entries', '1000000000'],
    ['limit', 'acme', '--entries', '0001000000000'],
    ['rotate', created.key_id, '--grace', '2592000s'],
    ['list', '--older-than', '3153600000s'],
    ['usage', '--days', '366'],
    ['audit', '--limit', '10000']
  ]
  for (const args of accepted) {
    const run = await keys(url, args)
    t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
  }

  const refused: Array<[string[], string]> = [
    [['create', 'acme', '--ingest-limit', '1000000001'], '--ingest-limit "1000000001" must be a whole number from 1 to 1000000000.'],
    [['create', 'acme', '--rate-limit', '99999999999999999999'], '--rate-limit "99999999999999999999" must be a whole number from 1 to 1000000000.'],
    [['create', 'acme', '--expires-in', '36501d'], '--expires-in "36501d" is longer than 36500d.'],
    [['create', 'acme', '--expires-in', '3153600001s'], '--expires-in "3153600001s" is longer than 36500d.'],
    [['limit', 'acme', '1000000001'], 'The request limit "1000000001" must be a whole number from 1 to 1000000000.'],
    [['limit', 'acme', '--entries', '1000000001'], '--entries "1000000001" must be a whole number from 1 to 1000000000.'],
    [['rotate', created.key_id, '--grace', '2592001s'], '--grace "2592001s" is longer than the 30d a grace may last.'],
    [['list', '--older-than', '3153600001s'], '--older-than "3153600001s" is longer than 36500d.'],
    [['usage', '--days', '367'], '--days "367" must be a whole number from 1 to 366.'],
    [['audit', '--limit', '10001'], '--limit "10001" must be a whole number from 1 to 10000.']
  ]
  for (const [args, message] of refused) {
    const run = await keys(url, args)
    t.same({ code: run.code, stderr: run.stderr }, { code: 2, stderr: `${message}\n` }, args.join(' '))
  }
})
