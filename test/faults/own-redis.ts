// A redis-server of the test's own, in the foreground as its child, which the
// test may stop, start again on the same port, or pause (SIGSTOP: connections
// stay open and nothing answers, as with a partition or a stalled server).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'

export interface OwnRedis {
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
  pause: () => void
  resume: () => void
}

/** Why there can be no Redis of the test's own here, or undefined when there can. */
export function noRedisServer (): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'redis-server is not installed: the Redis faults cannot be staged'
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port
      probe.close(() => { resolve(port) })
    })
  })
}

async function answersPing (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.setTimeout(500)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('+PONG')) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

export async function ownRedis (t: Test): Promise<OwnRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      if (child !== undefined) return
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      child = started
      const deadline = Date.now() + 10_000
      while (!await answersPing(port)) {
        if (started.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`)
        await sleep(20)
      }
    },
    stop: async () => {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      running.kill('SIGCONT')
      running.kill('SIGKILL')
      await once(running, 'exit')
    },
    pause: () => { child?.kill('SIGSTOP') },
    resume: () => { child?.kill('SIGCONT') }
  }
  t.teardown(own.stop)
  await own.start()
  return own
}
