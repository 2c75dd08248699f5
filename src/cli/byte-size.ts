// Byte counts on the command line: plain digits, or a whole number with a
// unit, binary (KiB, MiB, GiB, TiB) or decimal (KB, MB, GB, TB).
import { MAX_BYTE_SETTING } from '../config.ts'
import { formatBytes } from '../bytes.ts'
import { UsageError } from './output.ts'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12
}

/** A byte count from `min` to 1 PiB. */
export function byteSizeOption (option: string, text: string, min: number): number {
  const match = /^(\d{1,16})\s*([a-z]*)$/i.exec(text.trim())
  const unit = match === null ? undefined : UNITS[match[2]!.toLowerCase()]
  const bytes = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit
  if (!(bytes >= min && bytes <= MAX_BYTE_SETTING)) {
    throw new UsageError(`${option} "${text}" must be a byte count from ${withUnit(min)} to ${withUnit(MAX_BYTE_SETTING)}: ` +
      'digits, or a whole number and a unit such as 64MiB or 10GB.')
  }
  return bytes
}

/** `5242880 (5 MiB)`, or the bare number when it is no whole number of a unit. */
export function withUnit (bytes: number): string {
  const formatted = formatBytes(bytes)
  return formatted === `${bytes} bytes` ? String(bytes) : `${bytes} (${formatted})`
}
