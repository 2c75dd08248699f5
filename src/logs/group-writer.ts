// Group commit. With no write in flight a request is written at once, so a
// lone request is never delayed; requests that arrive while a write is in
// flight wait, and the next write takes them all (up to `maxGroupRows` rows)
// into one statement and one commit. Under load that is one WAL flush for many
// requests instead of one each. A second write (up to `concurrency`) starts
// only when a full group waits: waiting longer would not make it larger, and
// large batches then keep two database connections busy instead of one.
//
// Each request keeps its own answer: its own ids and replays (group-insert.ts),
// and its own error. A statement that fails for a reason of its own rows
// (not an outage) is retried request by request, so one bad request cannot
// fail the others. No request waits without bound: past `timeoutMs`, queued or
// in flight, it is answered 503 (in flight, its entries may still be committed).
import { isDatabaseUnavailable } from '../db/unavailable.ts'
import { CommittedGroupError, insertGroup, type Queryable, type WriteRequest } from './group-insert.ts'
import type { StoredEntry } from './tenant-logs.ts'

export interface GroupWriterOptions {
  /** Writes in flight at once, each on its own connection: beyond the first, only for a full group. */
  concurrency: number
  /** A group stops taking requests at this many rows (a request larger than this is a group of its own). */
  maxGroupRows: number
  /** How long a request may wait for its write, queued and in flight. */
  timeoutMs: number
  /** The error a request gets when it waited too long. */
  timedOut: () => Error
  /** Told of each group's statement once it ends: its requests and rows, its time, and whether it committed. */
  written?: (group: WrittenGroup) => void
}

export interface WrittenGroup {
  requests: number
  rows: number
  seconds: number
  committed: boolean
}

/** What has been written so far, for metrics and tests. */
export interface WriteStats {
  groups: number
  requests: number
  rows: number
  /** The requests of the largest group yet. */
  largestGroup: number
  /** Rows of the groups whose write has ended, committed or not (`rows` counts them once taken, before their write). */
  rowsWritten: number
}

interface Pending extends WriteRequest {
  resolve: (stored: StoredEntry[]) => void
  reject: (error: unknown) => void
  timer: NodeJS.Timeout
  /** Answered: written, failed, or timed out. A timed-out request still queued is not written. */
  settled: boolean
}

export class GroupWriter {
  readonly #pool: Queryable
  readonly #options: GroupWriterOptions
  readonly #queue: Pending[] = []
  /** Rows of the queued requests not yet answered. */
  #queuedRows = 0
  #inFlight = 0
  #idle: Array<() => void> = []
  readonly stats: WriteStats = { groups: 0, requests: 0, rows: 0, largestGroup: 0, rowsWritten: 0 }

  constructor (pool: Queryable, options: GroupWriterOptions) {
    this.#pool = pool
    this.#options = options
  }

  /** Stores a request's entries, answered once they are committed; see insertGroup for the answer. */
  async write (request: WriteRequest): Promise<StoredEntry[]> {
    return await new Promise((resolve, reject) => {
      const pending: Pending = {
        ...request,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => { this.#fail(pending, this.#options.timedOut()) }, this.#options.timeoutMs)
      }
      this.#queue.push(pending)
      this.#queuedRows += pending.entries.length
      this.#startGroups()
    })
  }

  /** Writes in flight that have not given their place up. */
  get writing (): number {
    return this.#inFlight
  }

  /** Requests waiting for a write to start. */
  get queued (): number {
    return this.#queue.filter((pending) => !pending.settled).length
  }

  /** Rows of the requests waiting for a write to start: what back-pressure bounds. */
  get queuedRows (): number {
    return this.#queuedRows
  }

  /** Resolves once every request taken so far is answered. */
  async drain (): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  #startGroups (): void {
    while (this.#inFlight < this.#options.concurrency) {
      if (this.#inFlight > 0 && this.#queuedRows < this.#options.maxGroupRows) break
      const group = this.#takeGroup()
      if (group.length === 0) break
      this.#inFlight++
      // A write that outlasts the timeout gives its place up (its requests
      // are answered 503 by then): a connection that hangs without failing
      // must not stop every write after it, nor the drain at shutdown.
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        clearTimeout(stuck)
        this.#inFlight--
        this.#startGroups()
        if (this.#inFlight === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idle.splice(0)) resolve()
        }
      }
      const stuck = setTimeout(release, this.#options.timeoutMs)
      void this.#writeGroup(group).finally(release)
    }
  }

  #takeGroup (): Pending[] {
    const group: Pending[] = []
    let rows = 0
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!
      if (next.settled) {
        this.#queue.shift()
        continue
      }
      if (group.length > 0 && rows + next.entries.length > this.#options.maxGroupRows) break
      this.#queue.shift()
      this.#queuedRows -= next.entries.length
      group.push(next)
      rows += next.entries.length
    }
    if (group.length > 0) {
      this.stats.groups++
      this.stats.requests += group.length
      this.stats.rows += rows
      this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length)
    }
    return group
  }

  async #writeGroup (group: Pending[]): Promise<void> {
    try {
      await this.#writeOrRetry(group)
    } finally {
      for (const pending of group) this.stats.rowsWritten += pending.entries.length
    }
  }

  async #writeOrRetry (group: Pending[]): Promise<void> {
    const started = performance.now()
    let answers: StoredEntry[][]
    try {
      answers = await insertGroup(this.#pool, group)
    } catch (error) {
      this.#written(group, started, false)
      if (group.length === 1 || isDatabaseUnavailable(error) || error instanceof CommittedGroupError) {
        for (const pending of group) this.#fail(pending, error)
        return
      }
      // Nothing of the group was stored: each request is written on its own, and only the one at fault fails.
      for (const pending of group) {
        if (pending.settled) continue
        try {
          this.#answer(pending, (await insertGroup(this.#pool, [pending]))[0]!)
        } catch (own) {
          this.#fail(pending, own)
        }
      }
      return
    }
    this.#written(group, started, true)
    group.forEach((pending, index) => { this.#answer(pending, answers[index]!) })
  }

  #written (group: Pending[], started: number, committed: boolean): void {
    const written = this.#options.written
    if (written === undefined) return
    let rows = 0
    for (const pending of group) rows += pending.entries.length
    written({ requests: group.length, rows, seconds: (performance.now() - started) / 1000, committed })
  }

  #answer (pending: Pending, stored: StoredEntry[]): void {
    if (this.#settled(pending)) return
    pending.resolve(stored)
  }

  #fail (pending: Pending, error: unknown): void {
    if (this.#settled(pending)) return
    // Timed out while queued: its rows will not be written.
    if (this.#queue.includes(pending)) this.#queuedRows -= pending.entries.length
    pending.reject(error)
  }

  /** Whether the request was answered already; marks it answered. */
  #settled (pending: Pending): boolean {
    if (pending.settled) return true
    pending.settled = true
    clearTimeout(pending.timer)
    return false
  }
}
