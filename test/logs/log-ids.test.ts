// Log ids: valid UUIDv7 that carry their time and never go backwards, in the
// same millisecond, past the counter's end, and when the clock steps back.
import t from 'tap'
import { validate, version } from 'uuid'
import { logIdMaker, newLogId } from '../../src/logs/log-ids.ts'

const millisecondsOf = (id: string): number => parseInt(id.replaceAll('-', '').slice(0, 12), 16)

void t.test('an id is a UUIDv7 with the time it was made', async (t) => {
  const before = Date.now()
  const id = newLogId()
  const after = Date.now()
  t.ok(validate(id), `${id} is a UUID`)
  t.equal(version(id), 7)
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'lower-case, version 7, RFC variant')
  t.ok(millisecondsOf(id) >= before && millisecondsOf(id) <= after, 'its first 48 bits are the Unix milliseconds')
})

void t.test('ids made one after another are unique and increasing', async (t) => {
  const ids = Array.from({ length: 100_000 }, () => newLogId())
  let increasing = true
  for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) increasing = false
  t.ok(increasing, 'each greater than the one before (as PostgreSQL orders uuids: byte by byte)')
  t.equal(new Set(ids).size, ids.length, 'no two alike')
})

void t.test('a frozen clock: past the counter\'s end, the next millisecond', async (t) => {
  const frozen = Date.UTC(2026, 11, 3)
  const make = logIdMaker(() => frozen)
  const ids = Array.from({ length: 10_000 }, () => make())
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!) t.fail(`id ${i} is not greater than the one before`)
  }
  t.equal(millisecondsOf(ids[0]!), frozen)
  t.ok(millisecondsOf(ids.at(-1)!) > frozen, 'ten thousand ids in one millisecond borrow the following ones')
  t.ok(millisecondsOf(ids.at(-1)!) <= frozen + 5, 'at least 2,048 ids in each')
  t.ok(ids.every((id) => validate(id) && version(id) === 7), 'all valid')
})

void t.test('a clock that steps back: ids still increase', async (t) => {
  const times = [5_000, 5_001, 4_000, 4_000, 5_001, 6_000]
  const make = logIdMaker(() => times.shift()!)
  const ids = Array.from({ length: 6 }, () => make())
  t.same([...ids].sort(), ids, 'in the order made')
  t.same(ids.map(millisecondsOf), [5_000, 5_001, 5_001, 5_001, 5_001, 6_000], 'the time stays at the latest seen')
})
