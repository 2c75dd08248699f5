// The tail's client, run as a process of its own: it opens
// GET /api/v1/logs/tail on one instance, then POSTs single logs to another,
// one at a time, and times each from the POST's answer (the log committed) to
// its event on the tail. An event that comes before the answer counts 0 ms.
// Settings come as JSON in BENCH_QUERY_TAIL (a TailSettings); prints one JSON
// line (a TailResult) on stdout.

export interface TailSettings {
  /** The instance the tail is opened on. */
  tailBase: string
  /** The instance the logs are posted to. */
  postBase: string
  apiKey: string
  warmup: number
  count: number
}

export interface TailResult {
  /** Milliseconds from each measured POST's answer to its event. */
  ms: number[]
  /** Measured events that came before their POST's answer. */
  early: number
}

const settings = JSON.parse(process.env.BENCH_QUERY_TAIL ?? '') as TailSettings
const headers = { 'x-api-key': settings.apiKey }
/** How long an event may take before the figure fails: far past the 1 s the service promises. */
const EVENT_TIMEOUT_MS = 10_000

const arrived = new Map<string, number>()
const waiting = new Map<string, (at: number) => void>()
let connected: () => void = () => {}
const isConnected = new Promise<void>((resolve, reject) => {
  connected = resolve
  // Once connected, this changes nothing.
  setTimeout(() => { reject(new Error(`the tail said nothing within ${EVENT_TIMEOUT_MS} ms`)) }, EVENT_TIMEOUT_MS).unref()
})

const stopped = new AbortController()
const tail = await fetch(`${settings.tailBase}/api/v1/logs/tail`, { headers, signal: stopped.signal })
if (tail.status !== 200 || tail.body === null) throw new Error(`the tail was answered ${tail.status}: ${(await tail.text()).slice(0, 500)}`)

/** Reads the events, noting when each log's id arrives. */
async function readEvents (stream: ReadableStream<Uint8Array>): Promise<void> {
  let buffered = ''
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const at = performance.now()
    buffered += text
    let end
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      if (block.startsWith(': connected')) connected()
      const id = /^id: (.+)$/m.exec(block)?.[1]
      if (id === undefined) continue
      arrived.set(id, at)
      waiting.get(id)?.(at)
    }
  }
}
const reading = readEvents(tail.body).catch((error: unknown) => {
  if (!stopped.signal.aborted) throw error
})

async function eventOf (id: string): Promise<number> {
  const at = arrived.get(id)
  if (at !== undefined) return at
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no event for log ${id} within ${EVENT_TIMEOUT_MS} ms`)) }, EVENT_TIMEOUT_MS)
    waiting.set(id, (at) => { clearTimeout(timer); resolve(at) })
  })
}

await isConnected
const ms: number[] = []
let early = 0
for (let i = 0; i < settings.warmup + settings.count; i++) {
  const entry = { environment: 'production', executed_at: new Date().toISOString(), status: 'SUCCESS', level: 'info', message: `tail probe ${i}` }
  const answer = await fetch(`${settings.postBase}/api/v1/logs`, {
    method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(entry)
  })
  const body = await answer.json() as { id?: string }
  const answeredAt = performance.now()
  if (answer.status !== 201 || body.id === undefined) throw new Error(`a POST was answered ${answer.status}: ${JSON.stringify(body).slice(0, 500)}`)
  const eventAt = await eventOf(body.id)
  if (i < settings.warmup) continue
  if (eventAt < answeredAt) early++
  ms.push(Math.max(0, eventAt - answeredAt))
}
stopped.abort()
await reading
process.stdout.write(`${JSON.stringify({ ms, early } satisfies TailResult)}\n`)
