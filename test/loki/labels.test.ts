// Stream labels in Prometheus' syntax, as Loki's protobuf push carries them:
// what is read, and what is refused with the place it goes wrong.
import t from 'tap'
import { parseLabels } from '../../src/loki/labels.ts'

void t.test('label sets as Loki clients write them', async (t) => {
  t.same(parseLabels('{}'), {})
  t.same(parseLabels(' { } '), {})
  t.same(parseLabels('{app="x"}'), { app: 'x' })
  t.same(parseLabels('{app="x", env="y"}'), { app: 'x', env: 'y' })
  t.same(parseLabels('{level="info",job="undefined"}'), { level: 'info', job: 'undefined' }, 'winston-loki\'s, without spaces')
  t.same(parseLabels('{ a = "1" ,\n\tb="2", }'), { a: '1', b: '2' }, 'spaces anywhere between tokens, a trailing comma')
  t.same(parseLabels('{_x9="v"}'), { _x9: 'v' })
  t.same(parseLabels('{"service.name"="checkout"}'), { 'service.name': 'checkout' }, 'a quoted name, as Prometheus 3 writes one')
  t.same(parseLabels('{a="", b="kept"}'), { b: 'kept' }, 'an empty value is no label')
  t.same(parseLabels('{a=`raw \\n "quoted"`}'), { a: 'raw \\n "quoted"' }, 'a backquoted value is raw')
  t.same(parseLabels('{a="ünïcødé ✓ 😀"}'), { a: 'ünïcødé ✓ 😀' })
})

void t.test('Go\'s escapes in double-quoted values', async (t) => {
  t.same(parseLabels('{a="say \\"hi\\""}'), { a: 'say "hi"' })
  t.same(parseLabels('{a="back\\\\slash"}'), { a: 'back\\slash' })
  t.same(parseLabels('{a="\\n\\t\\r\\a\\b\\f\\v"}'), { a: '\n\t\r\x07\b\f\v' })
  t.same(parseLabels('{a="\\u00e9\\U0001F600"}'), { a: 'é😀' })
  t.same(parseLabels('{a="\\xc3\\xa9 \\303\\251 \\101"}'), { a: 'é é A' }, 'byte escapes that together make UTF-8')
  t.same(parseLabels('{a="1,2", b="}{="}'), { a: '1,2', b: '}{=' }, 'separators inside values are text')
})

void t.test('what is not a label set is refused, saying where', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['', /"\{" is expected at character 1/],
    ['app="x"', /"\{" is expected/],
    ['{app="x"', /"\}" is expected/],
    ['{app="x"} tail', /text follows/],
    ['{app=x}', /a quoted value is expected at character 6/],
    ['{app="x}', /not closed/],
    ['{app="line\nbreak"}', /not closed/],
    ['{a=`x}', /not closed/],
    ['{9a="x"}', /a label name is expected at character 2/],
    ['{a-b="x"}', /"=" is expected/],
    ['{a!="x"}', /"=" is expected/],
    ['{a=~"x"}', /a quoted value is expected/],
    ['{a="1" b="2"}', /"\}" is expected/],
    ['{a="1",,b="2"}', /a label name is expected/],
    ['{a="1", a="2"}', /given twice/],
    ['{a="say "hi""}', /"\}" is expected/],
    ['{a="\\q"}', /"\\q" is not an escape/],
    ['{a="\\x4"}', /2 hex digits/],
    ['{a="\\u12"}', /4 hex digits/],
    ['{a="\\ud800"}', /names no Unicode character/],
    ['{a="\\U00110000"}', /names no Unicode character/],
    ['{a="\\400"}', /octal escape/],
    ['{a="\\xff"}', /not make valid UTF-8/],
    ['{a="\\', /cut short|not closed/]
  ]
  for (const [text, reason] of refused) {
    t.throws(() => parseLabels(text), { name: 'LabelSyntaxError', message: reason }, JSON.stringify(text))
  }
})

void t.test('a long value is read in one pass', async (t) => {
  const value = 'x'.repeat(2_000_000)
  t.equal(parseLabels(`{a="${value}"}`).a?.length, value.length)
  t.equal(parseLabels(`{a="${'\\"'.repeat(100_000)}"}`).a, '"'.repeat(100_000))
})

void t.test('__proto__ is a label like any other', async (t) => {
  const labels = parseLabels('{__proto__="x", constructor="y"}')
  t.equal(Object.getPrototypeOf(labels), null)
  t.same(Object.entries(labels), [['__proto__', 'x'], ['constructor', 'y']])
})
