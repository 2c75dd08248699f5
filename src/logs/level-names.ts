// The level a log's own name for its severity stands for: the names log
// shippers and logging libraries use (syslog's, ECS `log.level`, Python's,
// Log4j's…), any case, read as one of this service's six levels.
import type { LEVELS } from './schemas.ts'

export type Level = typeof LEVELS[number]

const LEVEL_NAMES: ReadonlyMap<string, Level> = new Map<string, Level>([
  ['trace', 'trace'], ['finest', 'trace'], ['finer', 'trace'], ['verbose', 'trace'],
  ['debug', 'debug'], ['fine', 'debug'], ['dbg', 'debug'],
  ['info', 'info'], ['information', 'info'], ['informational', 'info'], ['notice', 'info'], ['config', 'info'],
  ['warn', 'warn'], ['warning', 'warn'],
  ['error', 'error'], ['err', 'error'], ['severe', 'error'],
  ['fatal', 'fatal'], ['critical', 'fatal'], ['crit', 'fatal'], ['alert', 'fatal'], ['emergency', 'fatal'],
  ['emerg', 'fatal'], ['panic', 'fatal']
])

/** The level `text` names (`WARNING` → warn, `crit` → fatal), or undefined when it names none. */
export function levelFromName (text: string): Level | undefined {
  return LEVEL_NAMES.get(text.trim().toLowerCase())
}
