// One open tail: a stream of server-sent events, each a stored log with its
// id as the event id. Logs heard of while a resumed tail reads what it missed
// are held, then sent after it, each log once. The tail lasts only as long
// as its key allows it: the key is judged again on every heartbeat and
// whenever a change to it is announced, and the tail ends when it no longer
// may read logs (revoked, expired, out of grace, scope removed). A reader
// that has not taken more than `maxBufferedBytes` when new logs arrive is cut
// off rather than buffered without bound: it reconnects with Last-Event-ID.
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
  /** The client's logs after this id that pass the filters, oldest first, at most `limit`. */
  since: (afterId: string, limit: number) => Promise<PublicLog[]>
  /** Most logs a catch-up sends. */
  catchUpLimit: number
  /** Whether the tail's key still may read logs. */
  stillAllowed: () => Promise<boolean>
  onError: (error: unknown) => void
}

/** Ids remembered to send each log once across a resume or a catch-up. */
const REMEMBERED_IDS = 10_000

export const GAP_COMMENT = ': more logs were missed than a resume sends; read the gap from GET /api/v1/logs\n\n'

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
  readonly #onEnd: Array<() => void> = []
  /** The newest id sent, or the moment the tail opened: where a catch-up starts. */
  #position: string
  /** Logs heard of while the resume runs; undefined once live. */
  #held: PublicLog[] | undefined = []
  #heartbeat: NodeJS.Timeout | undefined
  #ended = false
  #catchingUp = false
  #catchUpAgain = false
  #checking = false

  constructor (options: TailSessionOptions) {
    this.client = options.client
    this.#options = options
    this.#foldedQ = options.filters.q === undefined ? undefined : fold(options.filters.q)
    // A second back: a log whose id was made just before the tail opened, and committed after, is still caught up.
    this.#position = idAtTime(Date.now() - 1000)
    this.stream.on('close', () => { this.#end() })
  }

  /** Runs once when the tail ends, however it ends. */
  onEnd (run: () => void): void {
    if (this.#ended) run()
    else this.#onEnd.push(run)
  }

  /** Sends what was missed before the answer began, then goes live. */
  start (missed: readonly PublicLog[], truncated: boolean): void {
    this.#write(': connected\n\n')
    this.#send(missed)
    if (truncated) this.#write(GAP_COMMENT)
    const held = this.#held ?? []
    this.#held = undefined
    this.#send(held)
    this.#heartbeat = setInterval(() => {
      this.#write(': heartbeat\n\n')
      this.recheck()
    }, this.#options.heartbeatMs)
    this.#heartbeat.unref()
    // More was heard while the resume ran than a tail holds: read it from the database instead.
    if (this.#catchUpAgain) this.resync()
  }

  deliver (logs: readonly PublicLog[]): void {
    if (this.#ended) return
    if (this.#held !== undefined) {
      // A resume that outlasts this many logs is cut short, and caught up from its position afterwards.
      if (this.#held.length + logs.length > this.#options.catchUpLimit) this.#catchUpAgain = true
      else for (const log of logs) this.#held.push(log)
      return
    }
    // Judged before the delivery, not during it: a burst larger than the bound is sent to a reader that keeps up.
    if (this.stream.writableLength > this.#options.maxBufferedBytes) {
      this.abort(': closed: the reader fell too far behind; reconnect with Last-Event-ID to resume\n\n')
      return
    }
    this.#send(logs)
  }

  resync (): void {
    if (this.#ended) return
    if (this.#catchingUp) {
      this.#catchUpAgain = true
      return
    }
    this.#catchingUp = true
    this.#catchUpAgain = false
    const limit = this.#options.catchUpLimit
    this.#options.since(this.#position, limit + 1).then((logs) => {
      this.deliver(logs.slice(0, limit))
      if (logs.length > limit) this.#write(GAP_COMMENT)
    }, this.#options.onError).finally(() => {
      this.#catchingUp = false
      if (this.#catchUpAgain) this.resync()
    })
  }

  /** Judges the key again; ends the tail if it may no longer read logs. */
  recheck (): void {
    if (this.#ended || this.#checking) return
    this.#checking = true
    this.#options.stillAllowed().then((allowed) => {
      if (!allowed) this.close(': closed: the key no longer allows reading logs (revoked, expired or changed)\n\n')
    }, this.#options.onError).finally(() => { this.#checking = false })
  }

  /** Ends the stream after what is written, with a last comment if given. */
  close (comment?: string): void {
    if (this.#ended) return
    if (comment !== undefined) this.#write(comment)
    this.#end()
    this.stream.end()
  }

  /** Cuts the connection: for a reader that does not read, whom an end would never reach. */
  abort (comment?: string): void {
    if (this.#ended) return
    if (comment !== undefined) this.#write(comment)
    this.#end()
    this.stream.destroy()
  }

  #send (logs: readonly PublicLog[]): void {
    for (const log of logs) {
      if (this.#ended) return
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
    if (!this.#ended) this.stream.write(text)
  }

  #end (): void {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#heartbeat)
    for (const run of this.#onEnd.splice(0)) run()
  }
}
