// Which requests the service's own log records (REQUEST_LOG). A log service
// answers far more accepted ingest requests than anything else: two lines
// for each would make its own log its busiest writer, and cost every request
// the time to write them. By default only the requests worth a look get a
// line: refused (4xx), failed (5xx) or slow ones, one line each, when they
// are answered, with what the arrival line would have said of them.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class ProblemRequestLog extends LogController {
  readonly #slowMs: number

  constructor (slowMs: number) {
    super()
    this.#slowMs = slowMs
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error != null) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
      return
    }
    const responseTime = reply.elapsedTime
    if (reply.statusCode < 400 && responseTime < this.#slowMs) return
    reply.log.info({ req: request, res: reply, responseTime }, 'request completed')
  }
}

/** Fastify's logController option for REQUEST_LOG: undefined keeps Fastify's own, which logs every request. */
export function requestLog (mode: 'problems' | 'all', slowMs: number): LogController | undefined {
  return mode === 'all' ? undefined : new ProblemRequestLog(slowMs)
}
