// How deep a parsed JSON body nests, judged before a schema walks it: a
// request whose shape has a known depth is refused at once when it goes deeper.

/**
 * Whether a parsed value nests deeper than `limit`, found without recursion.
 * Two stacks side by side rather than a pair per value, and for…in rather
 * than Object.values: the walk allocates nothing per object, which for a
 * thousand OTLP records was some 1.5 KB a record.
 */
export function nestsDeeper (value: unknown, limit: number): boolean {
  const values: unknown[] = [value]
  const depths: number[] = [1]
  while (values.length > 0) {
    const next = values.pop()
    const depth = depths.pop()!
    if (typeof next !== 'object' || next === null) continue
    if (depth > limit) return true
    if (Array.isArray(next)) {
      for (const member of next) {
        if (typeof member === 'object' && member !== null) {
          values.push(member)
          depths.push(depth + 1)
        }
      }
      continue
    }
    const object = next as Record<string, unknown>
    for (const key in object) {
      const member = object[key]
      if (typeof member === 'object' && member !== null) {
        values.push(member)
        depths.push(depth + 1)
      }
    }
  }
  return false
}
