// Every request gets its own logger, bound to its request id (and, once it is
// authenticated, to its client and key). Most requests never write a line
// (REQUEST_LOG), yet a pino child costs every one of them its bindings
// serialized and its formatters rebuilt: this logger holds its bindings and
// makes the pino child only when a line is written at a level that is on.
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from 'pino'

export class RequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger | RequestLogger
  readonly #bindings: Bindings
  #pino: Logger | undefined

  /** A child of a pino logger, or of another request logger (made no more real than it is). */
  constructor (parent: Logger | RequestLogger, bindings: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
  }

  /** The pino child, made on first need. */
  get #logger (): Logger {
    const parent = this.#parent
    this.#pino ??= (parent instanceof RequestLogger ? parent.#logger : parent).child(this.#bindings)
    return this.#pino
  }

  /** What decides the level until there is a pino child: the nearest pino logger above. */
  get #nearest (): Logger {
    if (this.#pino !== undefined) return this.#pino
    const parent = this.#parent
    return parent instanceof RequestLogger ? parent.#nearest : parent
  }

  #write (level: Level, args: unknown[]): void {
    if (!this.#nearest.isLevelEnabled(level)) return
    const logger = this.#logger
    ;(logger[level] as (...args: unknown[]) => void).apply(logger, args)
  }

  get level (): LevelWithSilentOrString {
    return this.#nearest.level
  }

  set level (level: LevelWithSilentOrString) {
    this.#logger.level = level
  }

  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    // Options (a level, serializers of its own) make a real child at once.
    if (options !== undefined && hasAny(options)) return this.#logger.child(bindings, options)
    return new RequestLogger(this.#pino ?? this, bindings)
  }
}

/** Fastify's childLoggerFactory: a request's logger, lazy unless the route asks for its own level or serializers. */
export function requestLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const parent = logger as Logger
  if (hasAny(options)) return parent.child(bindings, options)
  return new RequestLogger(parent, bindings)
}

function hasAny (options: ChildLoggerOptions): boolean {
  // Without building an array of keys: this runs for every request.
  // eslint-disable-next-line no-unreachable-loop -- one key is enough to answer
  for (const _ in options) return true
  return false
}
