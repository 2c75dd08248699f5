import t from 'tap'
import { growingLru } from '../src/growing-lru.ts'

void t.test('holds at most maxEntries, evicting the least recently used', async (t) => {
  const cache = growingLru<string, number>({ maxEntries: 3, ttlMs: 60_000 })
  for (const [i, key] of ['a', 'b', 'c'].entries()) cache.set(key, i)
  t.equal(cache.get('a'), 0, 'a read makes "a" the most recently used')
  cache.set('d', 3)
  t.same([...cache.keys()].sort(), ['a', 'c', 'd'], '"b", least recently used, made room')
  for (let i = 0; i < 1000; i++) cache.set(`flood-${i}`, i)
  t.equal(cache.size, 3, 'a flood of new keys never grows it past the bound')
})

void t.test('an entry is gone once its time to live has passed', async (t) => {
  const cache = growingLru<string, number>({ maxEntries: 10, ttlMs: 30 })
  cache.set('a', 1)
  t.equal(cache.get('a'), 1)
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(cache.get('a'), undefined)
})
