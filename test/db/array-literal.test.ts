// The array literals of the group insert, read back by PostgreSQL itself:
// whatever a log carries must arrive as it was sent.
import t from 'tap'
import pg from 'pg'
import { arrayLiteral } from '../../src/db/array-literal.ts'
import { testDatabaseUrl } from '../helper.ts'

const AWKWARD = [
  '', ' ', '  padded  ', 'NULL', 'null', 'a,b', '{braces}', '"quoted"', 'back\\slash', '\\"', 'trailing\\',
  'tab\there', 'new\nline', 'é, ü, 日本語, 🎉', '\'single\'', '{"json": "object", "n": [1, 2]}', 'x'.repeat(10_000)
]

void t.test('text arrays read back element for element', async (t) => {
  const client = new pg.Client({ connectionString: await testDatabaseUrl(t) })
  await client.connect()
  t.teardown(async () => { await client.end() })
  const read = async (literal: string, type: string): Promise<unknown[]> =>
    (await client.query<{ value: unknown[] }>(`select $1::${type}[] as value`, [literal])).rows[0]!.value

  t.same(await read(arrayLiteral(AWKWARD), 'text'), AWKWARD, 'quotes, backslashes, commas, braces, spaces and NULL as text')
  t.same(await read(arrayLiteral([...AWKWARD, null]), 'text'), [...AWKWARD, null], 'with a null among them')
  t.same(await read(arrayLiteral(['plain', 'words', 'only']), 'text'), ['plain', 'words', 'only'], 'the joined form')
  t.same(await read(arrayLiteral([null, null]), 'text'), [null, null], 'nulls only')
  t.same(await read(arrayLiteral([]), 'text'), [], 'empty')
  t.same(await read(arrayLiteral([0, 1.5, -3, 1e21, 123456789.125]), 'float8'), [0, 1.5, -3, 1e21, 123456789.125], 'numbers as float8')
  t.same(await read(arrayLiteral([1, null, 2147483647]), 'int4'), [1, null, 2147483647], 'numbers and null as int4')
  const attributes = ['{"a": "b\\"c", "d": "\\\\"}', null, '{}']
  t.same(await read(arrayLiteral(attributes), 'jsonb'), [{ a: 'b"c', d: '\\' }, null, {}], 'JSON text with escapes as jsonb')
})
