// The service runs with the same heap limit however it is started: the
// Docker image's NODE_OPTIONS, npm start's (which an operator's own
// NODE_OPTIONS may override), and the benchmark's, which runs the service as
// the image does.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { SERVICE_NODE_OPTIONS } from '../scripts/bench/node-options.ts'

const root = new URL('../', import.meta.url)
const MB = 2 ** 20

/**
 * V8's heap limit in MB, in a node started by the start script's own shell
 * words, NODE_OPTIONS being `options` (unset when undefined). Set in the
 * shell itself: the test runner adds its own NODE_OPTIONS to every process
 * it sees started.
 */
function heapLimitUnderStart (options: string | undefined): number {
  const start = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: { start: string } }).scripts.start
  // This process's node itself: the PATH of a test run may lead to a wrapper of the runner's.
  const probe = start.replace('node --import tsx src/server.ts', `'${process.execPath}' -e "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit))"`)
  t.not(probe, start, 'the start script runs node on src/server.ts')
  const given = options === undefined ? 'unset NODE_OPTIONS' : `export NODE_OPTIONS='${options}'`
  return Number(execFileSync('sh', ['-c', `${given}; ${probe}`], { encoding: 'utf8' })) / MB
}

void t.test('the Docker image and the benchmark give Node the same options', async (t) => {
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8')
  t.match(dockerfile, new RegExp(`^\\s+NODE_OPTIONS=${SERVICE_NODE_OPTIONS} \\\\$`, 'm'))
})

void t.test('npm start sets the same heap limit, which an operator\'s NODE_OPTIONS may change', async (t) => {
  const limit = Number(/=(\d+)$/.exec(SERVICE_NODE_OPTIONS)?.[1])
  // V8 adds its young generation to the old generation's limit.
  const near = (mb: number, wanted: number): boolean => mb >= wanted && mb < wanted + 100
  const unset = heapLimitUnderStart(undefined)
  t.ok(near(unset, limit), `no NODE_OPTIONS: ${Math.round(unset)} MB`)
  const other = heapLimitUnderStart('--enable-source-maps')
  t.ok(near(other, limit), `NODE_OPTIONS without a heap limit: ${Math.round(other)} MB`)
  const own = heapLimitUnderStart('--max-old-space-size=300')
  t.ok(near(own, 300), `the operator's own heap limit: ${Math.round(own)} MB`)
})
