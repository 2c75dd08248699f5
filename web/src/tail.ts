// The live tail: GET /api/v1/logs/tail read with fetch, since an EventSource
// cannot send the key in a header (and a key never goes in a URL). When the
// stream ends or breaks, it reconnects with Last-Event-ID, so the logs made
// meanwhile come first; a refusal with Retry-After waits that long.
import { ApiError, queryString, type Api, type Query } from './api.ts'
import type { LogEntry } from './types.ts'

export type TailState = { kind: 'connecting' } | { kind: 'live' } | { kind: 'waiting', seconds: number, reason: string } | { kind: 'stopped', reason: string }

export interface TailHandlers {
  onLog: (log: LogEntry) => void
  onState: (state: TailState) => void
}

interface SseEvent {
  id: string | undefined
  event: string
  data: string
  comment: string | undefined
}

/** One event block of text/event-stream (the lines between blank lines). */
export function parseEvent (block: string): SseEvent {
  const event: SseEvent = { id: undefined, event: 'message', data: '', comment: undefined }
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      event.comment = line.slice(1).trim()
      continue
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') event.id = value
    else if (field === 'event') event.event = value
    else if (field === 'data') data.push(value)
  }
  event.data = data.join('\n')
  return event
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => await new Promise((resolve) => {
  const timer = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
})

export class LiveTail {
  readonly #api: Api
  readonly #query: Query
  readonly #handlers: TailHandlers
  readonly #abort = new AbortController()
  #lastId: string | undefined

  constructor (api: Api, query: Query, handlers: TailHandlers) {
    this.#api = api
    this.#query = query
    this.#handlers = handlers
  }

  start (): void {
    void this.#run()
  }

  stop (): void {
    this.#abort.abort()
  }

  async #run (): Promise<void> {
    const signal = this.#abort.signal
    let failures = 0
    while (!signal.aborted) {
      this.#handlers.onState({ kind: 'connecting' })
      try {
        const closed = await this.#follow(signal)
        if (closed !== undefined) {
          this.#handlers.onState({ kind: 'stopped', reason: closed })
          return
        }
        failures = 0
      } catch (error) {
        if (signal.aborted) return
        if (error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 400)) {
          this.#handlers.onState({ kind: 'stopped', reason: error.message })
          return
        }
        failures++
        const seconds = error instanceof ApiError && error.retryAfter !== undefined ? error.retryAfter : Math.min(2 ** failures, 30)
        this.#handlers.onState({ kind: 'waiting', seconds, reason: error instanceof Error ? error.message : String(error) })
        await sleep(seconds * 1000, signal)
        continue
      }
      // The stream ended (the service restarted, a proxy closed it): resume at once.
      await sleep(250, signal)
    }
  }

  /** Reads the stream until it ends; returns why, when the service closed it for good. */
  async #follow (signal: AbortSignal): Promise<string | undefined> {
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (this.#lastId !== undefined) headers['last-event-id'] = this.#lastId
    const response = await this.#api.fetch(`/api/v1/logs/tail${queryString(this.#query)}`, { headers, signal })
    if (response.body === null) return undefined
    this.#handlers.onState({ kind: 'live' })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return undefined
        buffered += value.replace(/\r\n?/g, '\n')
        let end: number
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const event = parseEvent(buffered.slice(0, end))
          buffered = buffered.slice(end + 2)
          if (event.comment?.startsWith('closed') === true) return event.comment.replace(/^closed:\s*/, '')
          if (event.event !== 'log' || event.data === '') continue
          if (event.id !== undefined) this.#lastId = event.id
          this.#handlers.onLog(JSON.parse(event.data) as LogEntry)
        }
      }
    } finally {
      reader.releaseLock()
    }
  }
}
