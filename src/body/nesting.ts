// How deep a parsed JSON body nests, judged before a schema walks it: a
// request whose shape has a known depth is refused at once when it goes deeper.

/** Whether a parsed value nests deeper than `limit`, found without recursion. */
export function nestsDeeper (value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]]
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!
    if (typeof next !== 'object' || next === null) continue
    if (depth > limit) return true
    for (const member of Array.isArray(next) ? next : Object.values(next)) {
      if (typeof member === 'object' && member !== null) pending.push([member, depth + 1])
    }
  }
  return false
}
