// Long work on one request, done in slices: after each slice of about
// SLICE_MS the request gives the event loop back (other requests, /health,
// timers) before it goes on, so that no body, however built, holds the
// process for longer than that plus one unit of work.
import { setImmediate as nextTurn } from 'node:timers/promises'

export const SLICE_MS = 2

export class Pacer {
  private sliceStart = performance.now()

  /** Whether this slice has run its time: then `yield` before doing more. Checked without an await, which most checks need not pay. */
  due (): boolean {
    return performance.now() - this.sliceStart >= SLICE_MS
  }

  /** Gives the event loop back, and starts a new slice. */
  async yield (): Promise<void> {
    await nextTurn()
    this.restart()
  }

  /**
   * Starts a new slice: when work resumes after waiting for something else
   * (the next chunk of a body), the wait was the event loop's own time, not
   * this request's, and must not make it give way again at once.
   */
  restart (): void {
    this.sliceStart = performance.now()
  }
}
