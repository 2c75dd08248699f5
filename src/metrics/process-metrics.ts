// The process's own metrics (prom-client's defaults: CPU, resident memory,
// heap by space, event-loop lag, garbage collection, handles, open files),
// under their usual names so that ready-made Node.js dashboards read them.
// One registry for the process, made at the first scrape: they describe the
// process, whichever app of it is scraped, and the event-loop monitor and the
// garbage-collection observer they start are never stopped, so one set is all
// a process should start.
import { collectDefaultMetrics, Registry } from 'prom-client'

let registry: Registry | undefined

export function processMetrics (): Registry {
  if (registry === undefined) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return registry
}
