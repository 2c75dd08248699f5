// Writes gathered in memory, flushed on a timer and on close, one flush at a
// time. Closing waits for a flush already under way (the timer's) before the
// last one: otherwise the caller could close the pool under it, and what that
// flush had taken from memory would be lost at shutdown.
export class PeriodicFlush {
  readonly #flush: () => Promise<void>
  readonly #timer: NodeJS.Timeout
  #last: Promise<void> = Promise.resolve()

  /** `flush` keeps what it could not write for the next call; it should not throw. */
  constructor (flush: () => Promise<void>, everyMs: number) {
    this.#flush = flush
    this.#timer = setInterval(() => { void this.run() }, everyMs).unref()
  }

  /** Flushes now, after any flush under way. */
  async run (): Promise<void> {
    const next = this.#last.then(this.#flush, this.#flush)
    this.#last = next
    await next
  }

  /** Stops the timer and flushes what is left, after any flush under way. */
  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.run()
  }
}
