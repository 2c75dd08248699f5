// The service's date-time check against ajv-formats' own, which it stands in
// for: the same answer on hand-picked edge cases and on thousands of
// generated near-misses.
import t from 'tap'
import { fullFormats } from 'ajv-formats/dist/formats.js'
import { isDateTime } from '../../src/schemas/date-time-format.ts'

const reference = fullFormats['date-time'] as { validate: (text: string) => boolean }

const CASES = [
  '2026-01-31T12:00:00Z', '2026-01-31t12:00:00z', '2026-01-31 12:00:00Z', '2026-01-31\t12:00:00Z', '2026-01-31T12:00:00.123456789Z',
  '2026-01-31T12:00:00+01:00', '2026-01-31T12:00:00-0130', '2026-01-31T12:00:00+01', '2026-01-31T12:00:00', '2026-01-31T12:00:00+24:00',
  '2026-01-31T12:00:00+23:60', '2026-02-29T00:00:00Z', '2024-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z', '2026-13-10T00:00:00Z', '2026-12-00T00:00:00Z', '2026-12-31T24:00:00Z',
  '2026-12-31T23:60:00Z', '2026-12-31T23:59:60Z', '2026-12-31T23:59:60.5Z', '2026-12-31T23:59:61Z', '2026-12-31T22:59:60-01:00',
  '2026-12-31T00:59:60+01:00', '2026-12-31T12:59:60Z', '2026-12-31T23:59:59.Z', '2026-12-31T23:59:59..1Z', '2026-12-31TT23:59:59Z',
  '2026-12-31T23:59:59Z ', ' 2026-12-31T23:59:59Z', '26-12-31T23:59:59Z', '2026-1-31T23:59:59Z', '2026-12-31T3:59:59Z', '',
  '2026-12-31', '23:59:59Z', '2026-12-31T23:59:59+1:00', '2026-12-31T23:59:59+01:0', '２０２６-12-31T23:59:59Z', '0000-01-01T00:00:00Z'
]

void t.test('hand-picked cases', async (t) => {
  for (const text of CASES) t.equal(isDateTime(text), reference.validate(text), JSON.stringify(text))
})

void t.test('generated near-misses', async (t) => {
  const alphabet = '0123456789-:.+TtZz \t'
  let seed = 42
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % below
  }
  const disagreements: string[] = []
  for (let i = 0; i < 20_000; i++) {
    const chars = [...CASES[random(CASES.length)]!]
    for (let edits = 1 + random(3); edits > 0; edits--) {
      const at = random(chars.length + 1)
      const kind = random(3)
      if (kind === 0) chars.splice(at, 1)
      else if (kind === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]!)
      else chars[at] = alphabet[random(alphabet.length)]!
    }
    const text = chars.join('')
    if (isDateTime(text) !== reference.validate(text)) disagreements.push(text)
  }
  t.same(disagreements, [], 'no string on which the two checks disagree')
})
