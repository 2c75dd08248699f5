// An LRU cache bounded by its number of entries, whose memory grows with what
// it holds. lru-cache's `max` allocates its arrays for `max` entries up front
// (some 3.5 MB for 100,000 with a ttl, and some 25 ms to fill them): right for
// a cache that is always full, wasteful for the throttle's and the ingest
// budget's, which are nearly empty unless under attack. Bounding by `maxSize`
// with every entry of size 1 keeps the same bound without the allocation.
import { LRUCache } from 'lru-cache'

export function growingLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>> (options: { maxEntries: number, ttlMs: number }): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: options.maxEntries, sizeCalculation: () => 1, ttl: options.ttlMs })
}
