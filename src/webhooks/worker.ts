// The in-process worker that empties the outbox: every WEBHOOK_POLL_MS it fans
// new events out to their destinations and attempts the deliveries that are
// due, a few at a time; every WEBHOOK_SCAN_MS it looks for keys about to
// expire and failure spikes. A failed attempt is tried again after a wait
// that doubles each time (WEBHOOK_RETRY_BASE_MS up to WEBHOOK_RETRY_MAX_MS,
// with jitter so that endpoints back up together do not get their retries
// together), until WEBHOOK_MAX_ATTEMPTS. Nothing here holds up a request:
// key changes only write to the outbox.
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { checkEndpointUrl, DestinationRefusedError, type DestinationPolicy } from './destination.ts'
import { claimDeliveries, dispatchEvents, markDelivered, markFailed, pruneEvents, releaseDelivery, type ClaimedDelivery } from './deliveries.ts'
import { noticeExpiringKeys, noticeFailureSpikes, type SpikeRule } from './notices.ts'
import { sendWebhook, type Outcome } from './send.ts'

/** Deliveries attempted at once by one instance. */
const DELIVERY_BATCH = 10
/** Days an event is kept once dispatched: enough to look into a delivery that failed. */
export const KEEP_EVENTS_DAYS = 30

export interface WorkerSettings {
  providerUrls: readonly string[]
  providerSecret: string | undefined
  policy: DestinationPolicy
  timeoutMs: number
  maxAttempts: number
  retryBaseMs: number
  retryMaxMs: number
  pollMs: number
  scanMs: number
  spike: SpikeRule
  /** The time the scans judge expiry and spikes by. */
  clock: () => number
}

/** The wait before attempt `attempts + 1`, after `attempts` failed ones. */
export function retryDelayMs (attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const doubled = baseMs * 2 ** Math.min(attempts - 1, 40)
  return Math.min(maxMs, Math.round(doubled * (1 + 0.2 * random())))
}

export class WebhookWorker {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #settings: WorkerSettings
  readonly #stopping = new AbortController()
  #pollTimer: NodeJS.Timeout | undefined
  #scanTimer: NodeJS.Timeout | undefined
  #polling: Promise<unknown> = Promise.resolve()
  #scanning: Promise<unknown> = Promise.resolve()
  /** Whether the last round failed, so that an outage is logged once, not every round. */
  #failing = false

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, settings: WorkerSettings) {
    this.#db = db
    this.#log = log
    this.#settings = settings
  }

  start (): void {
    if (this.#settings.pollMs > 0) this.#schedulePoll(0)
    if (this.#settings.scanMs > 0) this.#scheduleScan()
  }

  /**
   * Fans out new events and attempts one batch of due deliveries; returns
   * how many deliveries were attempted.
   */
  async deliverDue (): Promise<number> {
    await dispatchEvents(this.#db, this.#settings.providerUrls)
    if (this.#stopping.signal.aborted) return 0
    // The lease outlasts the attempt, so no other instance takes the delivery while it is under way.
    const claimed = await claimDeliveries(this.#db, DELIVERY_BATCH, this.#settings.timeoutMs + 30_000)
    await Promise.all(claimed.map(async (delivery) => { await this.#attempt(delivery) }))
    return claimed.length
  }

  /** Looks for keys about to expire and failure spikes, and prunes old events. */
  async scan (): Promise<void> {
    const now = new Date(this.#settings.clock())
    const expiring = await noticeExpiringKeys(this.#db, now)
    const spikes = await noticeFailureSpikes(this.#db, now, this.#settings.spike)
    const pruned = await pruneEvents(this.#db, KEEP_EVENTS_DAYS)
    if (expiring + spikes + pruned > 0) this.#log.info({ expiring, spikes, pruned }, 'webhook notices written')
  }

  async close (): Promise<void> {
    this.#stopping.abort()
    clearTimeout(this.#pollTimer)
    clearTimeout(this.#scanTimer)
    await Promise.all([this.#polling, this.#scanning])
  }

  async #attempt (delivery: ClaimedDelivery): Promise<void> {
    const outcome = await this.#send(delivery)
    if (this.#stopping.signal.aborted && !outcome.ok) {
      await releaseDelivery(this.#db, delivery)
      return
    }
    const where = { client_id: delivery.client_id, endpoint: delivery.endpoint_id ?? 'provider', host: new URL(delivery.url).host }
    const about = { ...where, event_id: delivery.event_id, type: delivery.payload.type, attempt: delivery.attempts }
    if (outcome.ok) {
      await markDelivered(this.#db, delivery, outcome.status)
      this.#log.debug({ ...about, status: outcome.status }, 'webhook delivered')
      return
    }
    const last = delivery.attempts >= this.#settings.maxAttempts
    const retryIn = last ? null : retryDelayMs(delivery.attempts, this.#settings.retryBaseMs, this.#settings.retryMaxMs)
    await markFailed(this.#db, delivery, outcome, retryIn)
    if (last) this.#log.warn({ ...about, status: outcome.status, error: outcome.error }, 'webhook given up after its last attempt')
    else this.#log.info({ ...about, status: outcome.status, error: outcome.error, retry_in_ms: retryIn }, 'webhook attempt failed')
  }

  async #send (delivery: ClaimedDelivery): Promise<Outcome> {
    const provider = delivery.endpoint_id === null
    const secret = provider ? this.#settings.providerSecret : delivery.secret
    if (secret === undefined || secret === null || secret === '') return { ok: false, status: null, error: 'WEBHOOK_SECRET is not set' }
    if (!provider) {
      // Checked again at each attempt: the provider's policy may have changed since the endpoint was made.
      try {
        checkEndpointUrl(delivery.url, this.#settings.policy)
      } catch (error) {
        if (error instanceof DestinationRefusedError) return { ok: false, status: null, error: error.message }
        throw error
      }
    }
    return await sendWebhook({
      url: delivery.url,
      body: JSON.stringify(delivery.payload),
      eventId: delivery.event_id,
      secret,
      ...(provider ? {} : { policy: this.#settings.policy }),
      timeoutMs: this.#settings.timeoutMs,
      signal: this.#stopping.signal,
      now: Math.floor(Date.now() / 1000)
    })
  }

  #schedulePoll (delayMs: number): void {
    this.#pollTimer = setTimeout(() => {
      this.#polling = this.#round(async () => {
        // A full batch: more may be due, so the next round starts at once.
        let attempted = DELIVERY_BATCH
        while (attempted === DELIVERY_BATCH && !this.#stopping.signal.aborted) attempted = await this.deliverDue()
      }).finally(() => { if (!this.#stopping.signal.aborted) this.#schedulePoll(this.#settings.pollMs) })
    }, delayMs)
    this.#pollTimer.unref()
  }

  #scheduleScan (): void {
    this.#scanTimer = setTimeout(() => {
      this.#scanning = this.#round(async () => { await this.scan() })
        .finally(() => { if (!this.#stopping.signal.aborted) this.#scheduleScan() })
    }, this.#settings.scanMs)
    this.#scanTimer.unref()
  }

  /** Runs a round; a failure (the database away) is logged once until a round succeeds again. */
  async #round (work: () => Promise<void>): Promise<void> {
    try {
      await work()
      if (this.#failing) this.#log.info('webhook worker working again')
      this.#failing = false
    } catch (error) {
      if (!this.#failing) this.#log.warn({ err: error }, 'webhook worker round failed; retrying every round, logged again when it recovers')
      this.#failing = true
    }
  }
}
