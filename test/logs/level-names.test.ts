import t from 'tap'
import { levelFromName } from '../../src/logs/level-names.ts'

void t.test('common names of levels, any case, read as the six levels', async (t) => {
  const cases: Array<[string, string]> = [
    ['TRACE', 'trace'], ['debug', 'debug'], ['Info', 'info'], ['notice', 'info'], ['informational', 'info'],
    ['WARNING', 'warn'], ['warn', 'warn'], ['err', 'error'], ['Error', 'error'], ['severe', 'error'],
    ['critical', 'fatal'], ['crit', 'fatal'], ['alert', 'fatal'], ['emergency', 'fatal'], ['emerg', 'fatal'],
    ['panic', 'fatal'], ['FATAL', 'fatal'], [' warning ', 'warn']
  ]
  for (const [name, level] of cases) t.equal(levelFromName(name), level, name)
  for (const name of ['', 'loud', '3', 'warnings', 'constructor', '__proto__']) t.equal(levelFromName(name), undefined, `"${name}" names none`)
})
