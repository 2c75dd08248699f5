// A corpus of generated hostile requests, at least 200 for every route: each
// is bad in one way (credentials, path id, query, body, framing) and must get
// a 4xx in the common JSON error shape, never a 5xx, and leave the tenant data
// (logs, keys, clients) exactly as it was. The generators are seeded, so the
// corpus, and any case it names, is the same on every run.
import t, { type Test } from 'tap'
import type { LogPageBody } from '../../src/logs/schemas.ts'
import { loopbackPort } from '../helper.ts'
import { answerProblems, codeProblems, send, type HostileCase } from '../hostile/check.ts'
import { healthCases } from '../hostile/health-cases.ts'
import { harmlessHostileQueries } from '../hostile/logs-cases.ts'
import { Prng } from '../hostile/prng.ts'
import { rawCases, rawProblems, type RawCase } from '../hostile/raw-cases.ts'
import { ROUTES } from '../hostile/routes.ts'
import { changedTables, snapshot } from '../hostile/snapshot.ts'
import { buildWorld, type World } from '../hostile/world.ts'

const MIN_CASES_PER_ROUTE = 200

// A route that can write is checked after every case, so that a change is
// pinned on the case that made it. A read-only route has no write to make
// and is checked after every batch of cases, which keeps the file fast.
const READ_ONLY_BATCH = 25

interface Judged { problems: string[], details?: Record<string, unknown> }
type Judge<C> = (hostile: C) => Promise<Judged>

/** A case name fit for a TAP line: everything but printable ASCII escaped (U+2028 would end the line), length bounded. */
function printable (name: string): string {
  const escaped = name.replace(/[^\x20-\x7e]/gu, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`)
  return escaped.length > 110 ? `${escaped.slice(0, 107)}...` : escaped
}

function injected (world: World): Judge<HostileCase> {
  return async (hostile) => {
    const answer = await send(world.app, hostile)
    const request = `${hostile.method} ${printable(hostile.url).slice(0, 200)}`
    if (typeof answer === 'string') return { problems: [answer], details: { request } }
    const problems = [...answerProblems(hostile, answer, world.secrets), ...codeProblems(hostile, answer)]
    return { problems, details: { request, status: answer.statusCode } }
  }
}

function overSocket (world: World, port: number): Judge<RawCase> {
  return async (hostile) => ({ problems: await rawProblems(port, hostile, world.secrets) })
}

/**
 * Sends each case, one after another, and asserts it: the answer, and that
 * the tenant data did not change. A change is reported with the case (or
 * batch of cases) that made it, and the next cases are judged against the
 * changed data.
 */
async function runCorpus<C extends { name: string }> (t: Test, world: World, cases: C[], judge: Judge<C>, batch: number): Promise<void> {
  let before = await snapshot(world.app.db)
  for (let start = 0; start < cases.length; start += batch) {
    const judged = []
    for (const [offset, hostile] of cases.slice(start, start + batch).entries()) {
      judged.push({ index: start + offset, hostile, ...await judge(hostile) })
    }
    const after = await snapshot(world.app.db)
    const changed = changedTables(before, after)
    if (changed.length > 0) {
      const last = judged.at(-1)!
      last.problems.push(batch === 1 ? `changed ${changed.join(', ')}` : `changed ${changed.join(', ')} in cases #${start} to #${last.index}`)
      before = after
    }
    for (const { index, hostile, problems, details } of judged) {
      const label = `#${index} ${printable(hostile.name)}`
      t.ok(problems.length === 0, label, problems.length === 0 ? {} : { problems, ...details })
    }
  }
}

/** The admin key still works and sees its keys: no case took it away. */
async function expectAdminValid (t: Test, world: World): Promise<void> {
  const res = await world.app.inject({ method: 'GET', url: '/api/v1/keys', headers: { 'x-api-key': world.admin.apiKey } })
  t.equal(res.statusCode, 200, 'the admin key is still accepted')
}

void t.test('hostile input', async (t) => {
  const world = await buildWorld(t)
  const prng = new Prng(0x5eed)

  for (const { target, generate } of ROUTES) {
    const aim = target(world)
    await t.test(aim.route, async (t) => {
      const cases = generate(aim, world, prng)
      t.ok(cases.length >= MIN_CASES_PER_ROUTE, `${cases.length} cases, at least ${MIN_CASES_PER_ROUTE}`)
      await runCorpus(t, world, cases, injected(world), aim.method === 'GET' ? READ_ONLY_BATCH : 1)
      await expectAdminValid(t, world)
    })
  }

  await t.test('filters that only look hostile are text, and match nothing', async (t) => {
    for (const { name, url } of harmlessHostileQueries()) {
      const res = await world.app.inject({ method: 'GET', url, headers: { 'x-api-key': world.admin.apiKey } })
      const found = res.statusCode === 200 ? res.json<LogPageBody>().data.length : null
      t.ok(found === 0, printable(name), found === 0 ? {} : { status: res.statusCode, found, body: res.body.slice(0, 160) })
    }
  })

  for (const path of ['/health', '/ready'] as const) {
    await t.test(`GET ${path}`, async (t) => {
      await runCorpus(t, world, healthCases(path, prng), injected(world), READ_ONLY_BATCH)
    })
  }

  await t.test('raw bytes over a socket', async (t) => {
    const port = await loopbackPort(world.app)
    const cases = rawCases(ROUTES.map(({ target }) => target(world)), world.admin.apiKey, prng)
    await runCorpus(t, world, cases, overSocket(world, port), 1)
    t.equal((await world.app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the service is still up')
    await expectAdminValid(t, world)
  })
})
