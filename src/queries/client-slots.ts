// How many queries each client has running on this instance, held under a
// cap, so that no client can take every connection of the read pool.
export class ClientSlots {
  readonly limit: number
  /** client id → queries running; a client with none has no entry, so the map stays as small as the work in flight. */
  readonly #running = new Map<string, number>()

  constructor (limit: number) {
    this.limit = limit
  }

  /** A slot for one query of the client, as the function that gives it back; undefined when the client has `limit` running. */
  take (clientId: string): (() => void) | undefined {
    const running = this.#running.get(clientId) ?? 0
    if (running >= this.limit) return undefined
    this.#running.set(clientId, running + 1)
    let given = false
    return () => {
      if (given) return
      given = true
      const left = (this.#running.get(clientId) ?? 1) - 1
      if (left === 0) this.#running.delete(clientId)
      else this.#running.set(clientId, left)
    }
  }

  running (clientId: string): number {
    return this.#running.get(clientId) ?? 0
  }
}
