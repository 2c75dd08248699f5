// `npm run build:explorer`: builds the explorer page into dist/explorer, where
// the service serves it from (npm ci runs it through `prepare`, npm run build
// too). Prints each file's size, plain and compressed.
import { DEFAULT_EXPLORER_DIR } from '../src/explorer/assets.ts'
import { buildExplorer } from './lib/explorer-build.ts'

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`
const files = await buildExplorer(DEFAULT_EXPLORER_DIR)
for (const file of files) {
  process.stdout.write(`${file.name.padEnd(24)} ${kb(file.bytes).padStart(9)}  gzip ${kb(file.gzipBytes).padStart(8)}  brotli ${kb(file.brotliBytes).padStart(8)}\n`)
}
const total = files.reduce((sum, file) => sum + file.gzipBytes, 0)
process.stdout.write(`The explorer page is built in ${DEFAULT_EXPLORER_DIR}: ${kb(total)} gzip in all.\n`)
