// Requests to the service's API with the signed-in key in the X-API-Key
// header (never in a URL), and its errors in words.

/** An error answer, or a failure to reach the service (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  /** Seconds to wait, from Retry-After. */
  readonly retryAfter: number | undefined

  constructor (status: number, code: string, message: string, retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

export type Query = Record<string, string | number | undefined>

export function queryString (query: Query): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

export async function errorOf (response: Response): Promise<ApiError> {
  const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10)
  let code = 'http_error'
  let message = `The service answered ${response.status} ${response.statusText}.`
  try {
    const body = await response.json() as { code?: unknown, message?: unknown }
    if (typeof body.code === 'string') code = body.code
    if (typeof body.message === 'string') message = body.message
  } catch {
    // Not the service's JSON error (a proxy's page, say): the status says it.
  }
  return new ApiError(response.status, code, message, Number.isFinite(retryAfter) ? retryAfter : undefined)
}

function isAbort (error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError'
}

export interface ApiOptions {
  /** Called on a 401: the key is no longer accepted. */
  onUnauthorized: (error: ApiError) => void
}

/**
 * Queries the page runs at once. The service runs at most
 * QUERY_CONCURRENCY_PER_CLIENT (2 by default) queries of a client at once and
 * refuses one more with 429 too_many_queries: the page waits its turn rather
 * than be refused, and waits as told when another tab or program of the
 * client holds the places.
 */
const QUERIES_AT_ONCE = 2
const QUERY_RETRIES = 5

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export class Api {
  readonly #key: string
  readonly #options: ApiOptions
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor (key: string, options: ApiOptions) {
    this.#key = key
    this.#options = options
  }

  /** The request's headers: the key, and what the caller adds. */
  headers (extra: Record<string, string> = {}): Record<string, string> {
    return { 'x-api-key': this.#key, ...extra }
  }

  /** A fetch with the key; a 401 signs out. Errors are ApiErrors (an abort is rethrown as is). */
  async fetch (path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    let response: Response
    try {
      // No cookie is sent or kept: the key is the only credential.
      response = await fetch(path, { ...init, headers: this.headers(init.headers), credentials: 'omit', cache: 'no-store' })
    } catch (error) {
      if (isAbort(error)) throw error
      throw new ApiError(0, 'unreachable', 'The service could not be reached: check that it is running and that you are online.')
    }
    if (!response.ok) {
      const error = await errorOf(response)
      if (error.status === 401) this.#options.onUnauthorized(error)
      throw error
    }
    return response
  }

  async #turn (): Promise<void> {
    if (this.#running >= QUERIES_AT_ONCE) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#running++
  }

  #done (): void {
    this.#running--
    this.#waiting.shift()?.()
  }

  /** A query (GET), one of at most QUERIES_AT_ONCE, tried again while the client's other queries fill the service's places. */
  async get<T> (path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.#turn()
      try {
        signal?.throwIfAborted()
        const response = await this.fetch(`${path}${queryString(query)}`, signal === undefined ? {} : { signal })
        return await response.json() as T
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'too_many_queries' && attempt < QUERY_RETRIES)) throw error
      } finally {
        this.#done()
      }
      await sleep((attempt + 1) * 300)
    }
  }

  async send<T> (method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, query: Query = {}): Promise<T> {
    const response = await this.fetch(`${path}${queryString(query)}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    })
    return await response.json() as T
  }
}

/** An error as a sentence for the page. */
export function describeError (error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const wait = error.retryAfter === undefined ? 'a moment' : `${error.retryAfter} s`
      return `Too many requests: try again in ${wait}. (${error.message})`
    }
    if (error.status === 0) return error.message
    return `${error.message} (${error.status} ${error.code})`
  }
  return error instanceof Error ? error.message : String(error)
}
