// Debian's Chromium for the browser tests: CHROMIUM_PATH, or `chromium` on
// the PATH (apt-get install chromium; .ci/run installs it when missing).
// Without one, the browser tests are skipped, and say why.
import { execFileSync } from 'node:child_process'

export interface ChromiumFound {
  executablePath: string | undefined
  /** Why the browser tests are skipped; false when they run. */
  skip: string | false
}

export function findChromium (): ChromiumFound {
  const given = process.env.CHROMIUM_PATH
  if (given !== undefined && given !== '') return { executablePath: given, skip: false }
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim()
    if (found !== '') return { executablePath: found, skip: false }
  } catch {
    // Not on the PATH: skipped below.
  }
  return { executablePath: undefined, skip: 'no Chromium on this machine (apt-get install chromium, or set CHROMIUM_PATH): the explorer page is not tried in a browser' }
}

/** Flags for a headless Chromium in a container, as root. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu']
