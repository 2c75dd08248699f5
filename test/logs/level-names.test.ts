// Level names and numbers of other loggers, as this service's levels.
import t from 'tap'
import { levelFromName, levelFromNumber } from '../../src/logs/level-names.ts'

void t.test('names, any case', async (t) => {
  const cases: Array<[string, string]> = [
    ['trace', 'trace'], ['silly', 'trace'],
    ['debug', 'debug'], ['verbose', 'debug'], ['http', 'debug'],
    ['info', 'info'], ['INFO', 'info'], [' Notice ', 'info'], ['informational', 'info'],
    ['warn', 'warn'], ['warning', 'warn'], ['WARNING', 'warn'],
    ['error', 'error'], ['err', 'error'],
    ['fatal', 'fatal'], ['critical', 'fatal'], ['crit', 'fatal'], ['alert', 'fatal'], ['emerg', 'fatal'], ['emergency', 'fatal'], ['panic', 'fatal'],
    // java.util.logging's, as ECS log.level carries them
    ['SEVERE', 'error'], ['config', 'info'], ['fine', 'debug'], ['finer', 'trace'], ['finest', 'trace'], ['FATAL', 'fatal'], ['TRACE', 'trace']
  ]
  for (const [name, level] of cases) t.equal(levelFromName(name), level, name)
})

void t.test('pino\'s numbers, as numbers or text', async (t) => {
  t.same([10, 20, 30, 40, 50, 60].map((n) => levelFromName(n)), ['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
  t.equal(levelFromName('40'), 'warn')
  t.equal(levelFromName(35), 'info', 'a custom level in between goes down')
  t.same([0, 9, 19.5, 30.5, 70, 100].map((n) => levelFromNumber(n)), ['trace', 'trace', 'trace', 'info', 'fatal', 'fatal'], 'below 20 trace, past 60 fatal')
})

void t.test('anything else names no level', async (t) => {
  for (const name of ['', 'loud', 'warnings', 'toString', '__proto__', 'constructor', '5', '100', '3.5']) t.equal(levelFromName(name), undefined, JSON.stringify(name))
  for (const number of [-1, -10, Number.NaN, Number.POSITIVE_INFINITY]) t.equal(levelFromName(number), undefined, String(number))
})
