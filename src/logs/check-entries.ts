// Checks a request's entries one after another, giving the event loop back
// whenever a slice of time is used up: a thousand large entries take long
// to check, and other requests must not wait for all of them.
import { Pacer } from '../body/pace.ts'
import type { RejectionBody } from './schemas.ts'
import { checkEntry, type NormalizedEntry } from './validate.ts'

export interface CheckedEntries {
  valid: Array<{ index: number, entry: NormalizedEntry }>
  issues: RejectionBody[]
}

export async function checkEntries (raw: readonly unknown[]): Promise<CheckedEntries> {
  const pacer = new Pacer()
  const checked: CheckedEntries = { valid: [], issues: [] }
  for (const [index, item] of raw.entries()) {
    const check = checkEntry(item, index)
    if (check.ok) checked.valid.push({ index, entry: check.entry })
    else checked.issues.push(...check.issues)
    await pacer.pace()
  }
  return checked
}
