// Long work on one request, done in slices: after each slice of about
// SLICE_MS the request gives the event loop back (other requests, /health,
// timers) before it goes on, so that no body, however built, holds the
// process for longer than that plus one unit of work.
import { setImmediate as nextTurn } from 'node:timers/promises'

export const SLICE_MS = 2

export class Pacer {
  private sliceStart = performance.now()

  /** Yields to the event loop when this slice has run its time; otherwise returns at once. */
  async pace (): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return
    await nextTurn()
    this.sliceStart = performance.now()
  }
}
