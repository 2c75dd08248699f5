// Byte counts as people read them, in error messages and the CLI.

const UNITS = [['TiB', 2 ** 40], ['TB', 1e12], ['GiB', 2 ** 30], ['GB', 1e9], ['MiB', 2 ** 20], ['MB', 1e6], ['KiB', 2 ** 10], ['KB', 1e3]] as const

/** In the largest unit, binary or decimal, that the count is a whole number of (`5 MiB`, `10 GB`); else `N bytes`. */
export function formatBytes (bytes: number): string {
  for (const [unit, size] of UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`
  }
  return `${bytes} bytes`
}
