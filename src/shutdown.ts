// How the service stops. SIGINT (Ctrl-C), SIGTERM (a process manager,
// `docker stop`) and SIGHUP (the terminal closed) take the same path: stop
// taking requests, let those in flight finish (their connections are closed
// after DRAIN_MS), write what is pending (last use, usage, audit events),
// close the pools, stop the embedded PostgreSQL last, and exit 0.
//
// A signal may arrive more than once: under `npm start` a Ctrl-C reaches this
// process from the terminal (which signals the whole foreground process group)
// and again from npm (which passes SIGINT and SIGTERM on to its script). So a
// repeated signal never cuts the stop short; a stop that hangs is ended after
// STOP_LIMIT_MS with exit status 1.
import type { FastifyInstance } from 'fastify'

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Well inside the 10 s `docker stop` waits before SIGKILL, leaving time to write what is pending and stop PostgreSQL. */
export const DRAIN_MS = 5000
const STOP_LIMIT_MS = 30_000

/**
 * Closes the app: no new connections, requests in flight finish, and those
 * still running after `drainMs` have their connections closed, so that one
 * slow or held upload cannot keep the pending writes from being made.
 */
export async function stopCleanly (app: FastifyInstance, drainMs = DRAIN_MS): Promise<void> {
  const cut = setTimeout(() => {
    app.log.warn({ drainMs }, 'requests still in flight: closing their connections')
    app.server.closeAllConnections()
  }, drainMs)
  // A keep-alive connection whose request is answered during the drain is
  // closed as soon as it is idle, not left to hold the stop until the cut.
  const idle = setInterval(() => { app.server.closeIdleConnections() }, 50)
  try {
    await app.close()
  } finally {
    clearTimeout(cut)
    clearInterval(idle)
  }
}

type Reason = { signal: NodeJS.Signals } | { error: unknown }

/**
 * Listens for the stop signals (and uncaught errors) from the moment it is
 * made, the start included: the app is stopped once `attach` gives it, so a
 * Ctrl-C during the start still stops the embedded PostgreSQL it started.
 */
export class Shutdown {
  #app: FastifyInstance | undefined
  #reason: Reason | undefined
  #exitCode = 0

  constructor () {
    for (const signal of STOP_SIGNALS) process.on(signal, (received) => { this.#request({ signal: received }) })
    process.on('uncaughtException', (error) => { this.#request({ error }) })
    process.on('unhandledRejection', (error) => { this.#request({ error }) })
  }

  /** Whether a stop was asked for (then the app should not start listening). */
  get requested (): boolean {
    return this.#reason !== undefined
  }

  attach (app: FastifyInstance): void {
    this.#app = app
    if (this.#reason !== undefined) void this.#stop(app, this.#reason)
  }

  #request (reason: Reason): void {
    if ('error' in reason) {
      this.#exitCode = 1
      // Before the app (and its logger) exists, nothing else would show it.
      if (this.#app === undefined) console.error(reason.error)
    }
    if (this.#reason !== undefined) {
      if ('error' in reason) this.#app?.log.error({ err: reason.error }, 'error while shutting down')
      else this.#app?.log.info({ signal: reason.signal }, 'already shutting down')
      return
    }
    this.#reason = reason
    if (this.#app !== undefined) void this.#stop(this.#app, reason)
  }

  async #stop (app: FastifyInstance, reason: Reason): Promise<void> {
    if ('error' in reason) app.log.error({ err: reason.error }, 'shutting down after an error')
    else app.log.info({ signal: reason.signal }, 'shutting down')
    setTimeout(() => {
      app.log.error({ limitMs: STOP_LIMIT_MS }, 'shutdown did not finish in time: exiting')
      process.exit(1)
    }, STOP_LIMIT_MS).unref()
    try {
      await stopCleanly(app)
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed')
      this.#exitCode = 1
    }
    process.exit(this.#exitCode)
  }
}
