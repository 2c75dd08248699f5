// A client of GET /api/v1/logs/tail over a real socket: the key in a header,
// the body read as it streams, and the server-sent events parsed from it.
// node:http rather than fetch, so that closing it closes its socket at once
// (fetch's pool keeps an aborted socket for seconds).
import http from 'node:http'
export interface SseEvent {
  id?: string
  event?: string
  data?: string
}

export interface TailReader {
  status: number
  headers: http.IncomingHttpHeaders
  events: SseEvent[]
  /** Comment lines (`: …`), heartbeats among them. */
  comments: string[]
  /** Resolves when the server ends the stream. */
  ended: Promise<void>
  /** Waits until `count` events have arrived, or fails after `timeoutMs`. */
  waitForEvents: (count: number, timeoutMs?: number) => Promise<SseEvent[]>
  waitForComment: (pattern: RegExp, timeoutMs?: number) => Promise<string>
  close: () => void
}

export async function openTail (base: string, apiKey: string, query = '', headers: Record<string, string> = {}): Promise<TailReader> {
  const events: SseEvent[] = []
  const comments: string[] = []
  let changed: () => void = () => {}
  const request = http.get(`${base}/api/v1/logs/tail${query}`, { headers: { 'x-api-key': apiKey, ...headers }, agent: false })
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject))
  const ended = (async () => {
    let buffered = ''
    try {
      for await (const chunk of res.setEncoding('utf8')) {
        buffered += chunk as string
        let end: number
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const block = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          const event: SseEvent = {}
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim())
            else if (line.startsWith('id: ')) event.id = line.slice(4)
            else if (line.startsWith('event: ')) event.event = line.slice(7)
            else if (line.startsWith('data: ')) event.data = line.slice(6)
          }
          if (event.data !== undefined) events.push(event)
          changed()
        }
      }
    } catch {
      // Closed by close(), or the connection was cut.
    }
  })()
  const waitUntil = async <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = check()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`${what} did not arrive within ${timeoutMs} ms (events: ${events.length})`)
      await new Promise<void>((resolve) => {
        changed = resolve
        setTimeout(resolve, 50)
      })
    }
  }
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events,
    comments,
    ended,
    waitForEvents: async (count, timeoutMs = 2000) => await waitUntil(() => events.length >= count ? events.slice(0, count) : undefined, timeoutMs, `${count} events`),
    waitForComment: async (pattern, timeoutMs = 2000) => await waitUntil(() => comments.find((comment) => pattern.test(comment)), timeoutMs, `a comment like ${pattern}`),
    close: () => { request.destroy() }
  }
}
