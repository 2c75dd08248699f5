// The depth check that runs before a schema walks a body: exact at its limit,
// through arrays and objects alike, and never deeper than it must look.
import t from 'tap'
import { nestsDeeper } from '../../src/body/nesting.ts'

/** A value `depth` levels deep (a primitive counts none), alternating objects and arrays. */
function nested (depth: number): unknown {
  let value: unknown = 'leaf'
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? { value } : [1, value, null]
  return value
}

void t.test('depth counted through objects and arrays', async (t) => {
  t.equal(nestsDeeper('text', 0), false, 'a primitive has no depth')
  t.equal(nestsDeeper(null, 0), false, 'nor has null')
  t.equal(nestsDeeper({}, 1), false, 'an object is one level')
  t.equal(nestsDeeper({}, 0), true)
  for (const depth of [1, 2, 7, 160]) {
    t.equal(nestsDeeper(nested(depth), depth), false, `${depth} levels are within a limit of ${depth}`)
    t.equal(nestsDeeper(nested(depth), depth - 1), true, `and beyond a limit of ${depth - 1}`)
  }
})

void t.test('the deepest branch counts, wherever it is', async (t) => {
  const wide = { a: 1, b: [2, 3], c: { d: nested(5) }, e: 'x' }
  t.equal(nestsDeeper(wide, 7), false)
  t.equal(nestsDeeper(wide, 6), true, 'c.d is two levels under the top, then five')
  t.equal(nestsDeeper([{}, [], [[[{}]]]], 4), true, 'the last element is five deep')
  t.equal(nestsDeeper([{}, [], [[[{}]]]], 5), false)
})

void t.test('a body far deeper than the limit is judged without recursion', async (t) => {
  t.equal(nestsDeeper(nested(100_000), 160), true)
})
