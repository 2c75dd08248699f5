// The audit trail and usage report: read-only routes whose only input is
// the query string, so the corpus is every parameter wrong, twice, unknown,
// and mixed with valid ones.
import { authCases } from './auth-cases.ts'
import type { HostileCase } from './check.ts'
import type { Prng } from './prng.ts'
import { malformedQueryCases, query, repeatedParamCases, unknownParamCases } from './query.ts'
import { spoil, type Target } from './target.ts'
import { BAD_DATE_TIMES, BAD_DAYS, encode } from './values.ts'
import type { World } from './world.ts'

const BAD_LIMITS = ['0', '-1', '1001', '1e309', 'NaN', 'abc', '1.5', '', '99999999999999999999', '-0', 'Infinity', 'null', encode('1\u0000')]

/** One case per bad value of each parameter, then random mixes of one bad value among valid ones. */
function parameterCases (target: Target, world: World, prng: Prng, bads: Record<string, readonly string[]>,
  good: ReadonlyArray<readonly [string, string]>, mixes: number): HostileCase[] {
  const cases: HostileCase[] = []
  for (const [name, values] of Object.entries(bads)) {
    values.forEach((value, i) => cases.push(spoil(target, world.admin.apiKey, `${name} #${i}`, { url: target.path + query([[name, value]]) })))
  }
  for (let i = 0; i < mixes; i++) {
    const name = prng.pick(Object.keys(bads))
    const others = prng.shuffle(good.filter(([other]) => other !== name)).slice(0, prng.int(0, good.length))
    const pairs = prng.shuffle([...others, [name, prng.pick(bads[name]!)] as const])
    cases.push(spoil(target, world.admin.apiKey, `mixed #${i}: ${name}`, { url: target.path + query(pairs) }))
  }
  return cases
}

export function auditCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const bads = {
    limit: BAD_LIMITS,
    cursor: ['', 'abc', '-1', '1e3', '1'.repeat(16), encode(' 1'), '0x1', '1.5', '%00', encode("1' OR '1'='1"), encode('\u0661\u0662'), encode('\uff11'), '+1'],
    event: ['AUTH.FAILED', 'auth', '', 'key.%2A', encode("key.created' OR '1'='1"), '%00', encode('key.created '), 'key_created'],
    since: BAD_DATE_TIMES.map(encode)
  }
  const good = [['limit', '5'], ['event', 'key.created'], ['since', encode('2026-01-01T00:00:00Z')], ['cursor', '999999']] as const
  return [
    ...parameterCases(target, world, prng, bads, good, 40),
    ...repeatedParamCases(target, world.admin.apiKey, { limit: ['1', '2'], cursor: ['5', '6'], event: ['key.created', 'auth.failed'], since: ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'] }),
    ...unknownParamCases(target, world.admin.apiKey, prng),
    ...malformedQueryCases(target, world.admin.apiKey, 'event'),
    ...authCases(target, world, prng, 10)
  ]
}

/** YYYY-MM-DD of a day `days` after 2026-01-01. */
function dayAfterNewYear (days: number): string {
  return new Date(Date.UTC(2026, 0, 1 + days)).toISOString().slice(0, 10)
}

export function usageCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const bads = { from: BAD_DAYS.map(encode), to: BAD_DAYS.map(encode) }
  const good = [['from', '2026-01-01'], ['to', '2026-01-31']] as const
  const cases = parameterCases(target, world, prng, bads, good, 40)
  for (let i = 0; i < 8; i++) {
    const from = prng.int(0, 300)
    const before = prng.int(1, 400)
    cases.push(spoil(target, world.admin.apiKey, `from after to #${i}`, { url: target.path + query([['from', dayAfterNewYear(from)], ['to', dayAfterNewYear(from - before)]]) }))
    const span = prng.int(366, 5000)
    cases.push(spoil(target, world.admin.apiKey, `more than 366 days #${i}`, { url: target.path + query([['from', dayAfterNewYear(-span)], ['to', dayAfterNewYear(0)]]) }))
  }
  cases.push(spoil(target, world.admin.apiKey, 'days before the first day', { url: target.path + query([['from', '0000-12-01'], ['to', '0001-01-01']]) }))
  cases.push(spoil(target, world.admin.apiKey, 'only a last day near the first day', { url: target.path + query([['to', '0001-01-05']]) }))
  cases.push(...repeatedParamCases(target, world.admin.apiKey, { from: ['2026-01-01', '2026-01-02'], to: ['2026-01-03', '2026-01-04'] }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng))
  cases.push(...malformedQueryCases(target, world.admin.apiKey, 'from'))
  cases.push(...authCases(target, world, prng, 30))
  return cases
}
