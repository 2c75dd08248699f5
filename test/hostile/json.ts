// JSON text that JSON.stringify cannot write: literal tokens a JavaScript
// value cannot hold (1e309, NaN, a trailing comma) and objects with
// duplicate or `__proto__` keys, which a JavaScript object literal would
// swallow or turn into a prototype.

/** Written into the JSON text exactly as given. */
export class Raw {
  readonly text: string
  constructor (text: string) {
    this.text = text
  }
}

/** An object as an ordered list of members, repeated names and `__proto__` included. */
export class Members {
  readonly members: ReadonlyArray<readonly [string, unknown]>
  constructor (members: ReadonlyArray<readonly [string, unknown]>) {
    this.members = members
  }
}

export const raw = (text: string): Raw => new Raw(text)
export const members = (...list: Array<readonly [string, unknown]>): Members => new Members(list)

/** JSON text for a value that may hold Raw tokens and Members objects anywhere. */
export function toJson (value: unknown): string {
  if (value instanceof Raw) return value.text
  if (value instanceof Members) return `{${value.members.map(([name, child]) => `${JSON.stringify(name)}:${toJson(child)}`).join(',')}}`
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([name, child]) => `${JSON.stringify(name)}:${toJson(child)}`).join(',')}}`
  }
  // undefined has no JSON form; a member holding it is written as null, never dropped.
  return JSON.stringify(value) ?? 'null'
}

/** `depth` arrays nested inside each other: `[[[...]]]`. */
export function nestedArrays (depth: number, innermost = ''): Raw {
  return raw(`${'['.repeat(depth)}${innermost}${']'.repeat(depth)}`)
}

/** `depth` objects nested inside each other: `{"a":{"a":...}}`. */
export function nestedObjects (depth: number, innermost = '1'): Raw {
  return raw(`${'{"a":'.repeat(depth)}${innermost}${'}'.repeat(depth)}`)
}
