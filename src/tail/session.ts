// One open tail: a stream of server-sent events, each a stored log with its
// id as the event id. Logs heard of while a resumed tail reads what it missed
// are held, then sent after it, each log once. A reader that falls behind by
// more than `maxBufferedBytes` is closed rather than buffered without bound:
// it reconnects with Last-Event-ID and resumes.
import { PassThrough } from 'node:stream'
import type { LogFilters, PublicLog } from '../logs/tenant-logs.ts'
import { present } from '../logs/present.ts'
import { fold, matches } from './match.ts'
import type { TailSubscriber } from './hub.ts'
import type { AuthenticatedClient } from '../auth/resolver.ts'

export interface TailSessionOptions {
  client: AuthenticatedClient
  filters: LogFilters
  heartbeatMs: number
  maxBufferedBytes: number
  /** The client's logs after this id that pass the filters, oldest first (bounded). */
  since: (afterId: string) => Promise<PublicLog[]>
  onError: (error: unknown) => void
}

/** Ids remembered to send each log once across a resume or a catch-up. */
const REMEMBERED_IDS = 10_000

/** The smallest UUIDv7 of a millisecond: ids made from then on sort after it. */
export function idAtTime (ms: number): string {
  const hex = Math.max(0, ms).toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`
}

export class TailSession implements TailSubscriber {
  readonly client: AuthenticatedClient
  /** What the response sends. */
  readonly stream = new PassThrough()
  readonly #options: TailSessionOptions
  readonly #foldedQ: string | undefined
  readonly #sent = new Set<string>()
  /** The newest id sent, or the moment the tail opened: where a catch-up starts. */
  #position: string
  /** Logs heard of while the resume runs; undefined once live. */
  #held: PublicLog[] | undefined = []
  #heartbeat: NodeJS.Timeout | undefined
  #closed = false
  #catchingUp = false

  constructor (options: TailSessionOptions) {
    this.client = options.client
    this.#options = options
    this.#foldedQ = options.filters.q === undefined ? undefined : fold(options.filters.q)
    // A second back: a log whose id was made just before the tail opened, and committed after, is still caught up.
    this.#position = idAtTime(Date.now() - 1000)
    this.stream.on('close', () => { this.#stop() })
  }

  /** Sends what was missed since `resumeFrom` (read before the answer began), then goes live. */
  start (missed: readonly PublicLog[], truncated: boolean): void {
    this.#write(': connected\n\n')
    this.#send(missed)
    if (truncated) this.#write(': more logs were missed than a resume sends; read the gap from GET /api/v1/logs\n\n')
    const held = this.#held ?? []
    this.#held = undefined
    this.#send(held)
    this.#heartbeat = setInterval(() => { this.#write(': heartbeat\n\n') }, this.#options.heartbeatMs)
    this.#heartbeat.unref()
  }

  deliver (logs: readonly PublicLog[]): void {
    if (this.#held !== undefined) this.#held.push(...logs)
    else this.#send(logs)
  }

  resync (): void {
    if (this.#closed || this.#catchingUp) return
    this.#catchingUp = true
    this.#options.since(this.#position).then((logs) => { this.deliver(logs) }, this.#options.onError)
      .finally(() => { this.#catchingUp = false })
  }

  close (): void {
    if (this.#closed) return
    this.#stop()
    this.stream.end()
  }

  #send (logs: readonly PublicLog[]): void {
    for (const log of logs) {
      if (this.#closed) return
      if (this.#sent.has(log.id) || !matches(log, this.#options.filters, this.#foldedQ)) continue
      this.#remember(log.id)
      if (log.id > this.#position) this.#position = log.id
      this.#write(`id: ${log.id}\nevent: log\ndata: ${JSON.stringify(present(log))}\n\n`)
    }
  }

  #remember (id: string): void {
    this.#sent.add(id)
    if (this.#sent.size > REMEMBERED_IDS) this.#sent.delete(this.#sent.values().next().value!)
  }

  #write (text: string): void {
    if (this.#closed) return
    this.stream.write(text)
    if (this.stream.writableLength > this.#options.maxBufferedBytes) {
      this.stream.write(': closed: the reader fell too far behind; reconnect with Last-Event-ID to resume\n\n')
      this.close()
    }
  }

  #stop (): void {
    this.#closed = true
    clearInterval(this.#heartbeat)
  }
}
