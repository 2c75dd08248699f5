// Generated hostile Loki pushes, seeded: valid protobuf pushes mutated before
// or after Snappy compression (cut short, bit-flipped, spliced), random bytes,
// label strings mangled character by character. Whatever the body, the
// answer is 204 or a 4xx (never a 5xx), and a 4xx stores nothing.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { compressSync } from 'snappy'
import t from 'tap'
import { encodePushRequest, type PushRequest } from '../../src/loki/proto.ts'
import { mutateBytes } from '../hostile/mutate-bytes.ts'
import { Prng } from '../hostile/prng.ts'
import { buildTestApp, countLogs, issueKey } from '../helper.ts'

const CASES = 300

function validPush (prng: Prng, entries: number, labels = '{job="etl", env="prod"}'): PushRequest {
  return {
    streams: [{
      labels,
      entries: Array.from({ length: entries }, (_, i) => ({
        timestamp: { seconds: String(1795000000 + prng.int(0, 1000)), nanos: prng.int(0, 999_999_999) },
        line: prng.chance(0.5) ? `line ${i}` : JSON.stringify({ msg: `line ${i}`, level: prng.pick([10, 30, 'warn', 'nope']), n: prng.int(0, 9) }),
        structuredMetadata: [{ name: 'run_id', value: `run-${prng.int(0, 99)}` }]
      }))
    }]
  }
}

function mangle (prng: Prng, text: string): string {
  const chars = [...text]
  for (let i = 0; i < prng.int(1, 4); i++) {
    const at = prng.int(0, chars.length)
    const insert = prng.pick(['"', '\\', '`', '{', '}', ',', '=', ' ', '\n', '\\x', '\\u', '\\U0010FFFF', '\\377', 'é', '\u0000', ''])
    chars.splice(at, prng.int(0, 1), insert)
  }
  return chars.join('')
}

async function send (app: FastifyInstance, apiKey: string, body: Buffer): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/x-protobuf', 'x-api-key': apiKey }, payload: body })
}

void t.test('mutated Snappy blocks and protobuf inside them: 204 or a 4xx, never a 5xx; a 4xx stores nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const prng = new Prng(0x10c1)
  const statuses = new Map<number, number>()
  for (let i = 0; i < CASES; i++) {
    const protobuf = encodePushRequest(validPush(prng, prng.int(1, 5)))
    const body = prng.chance(0.5) ? mutateBytes(prng, compressSync(protobuf)) : compressSync(mutateBytes(prng, protobuf))
    const before = await countLogs(app)
    const res = await send(app, apiKey, body)
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    // 413: a mutated header announcing more than the body limit.
    if (![204, 400, 413].includes(res.statusCode)) t.fail(`case ${i}: answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    if (res.statusCode !== 204 && await countLogs(app) !== before) t.fail(`case ${i}: a ${res.statusCode} stored something`)
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(204) ?? 0) > 0, 'both outcomes met')
})

void t.test('mangled label strings: each stream judged on its own, never a 5xx', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const prng = new Prng(0x1abe1)
  for (let i = 0; i < CASES; i++) {
    const labels = mangle(prng, '{job="etl", env="prod", note="a \\"quoted\\" \\u00e9"}')
    const res = await send(app, apiKey, compressSync(encodePushRequest(validPush(prng, 2, labels))))
    if (res.statusCode !== 204 && res.statusCode !== 400) t.fail(`${JSON.stringify(labels)}: answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    if (res.statusCode === 400) t.equal(res.json<{ code: string }>().code, 'invalid_entries', `${JSON.stringify(labels)}: refused as entries`)
  }
  t.pass(`${CASES} cases`)
})
