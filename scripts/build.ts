// `npm run build`: compiles the service into dist/ (tsconfig.build.json), then
// copies beside the compiled code the files it reads at run time that tsc
// does not emit: every `proto` directory under src/ (protobuf definitions and
// their licence), so that a protocol added with its own definitions needs no
// change here; and builds the explorer page into dist/explorer.
import { spawnSync } from 'node:child_process'
import { cpSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { DEFAULT_EXPLORER_DIR } from '../src/explorer/assets.ts'
import { buildExplorer } from './lib/explorer-build.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

/** The directories named `proto` under `dir`, relative to ROOT. */
function protoDirectories (dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const child = path.join(dir, entry.name)
    if (entry.name === 'proto') found.push(child)
    else found.push(...protoDirectories(child))
  }
  return found
}

const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  { cwd: ROOT, stdio: 'inherit' })
if (tsc.status !== 0) {
  process.stderr.write('The build failed: tsc reported the errors above.\n')
  process.exit(tsc.status ?? 1)
}
for (const dir of protoDirectories('src')) {
  cpSync(path.join(ROOT, dir), path.join(ROOT, 'dist', dir), { recursive: true })
}
await buildExplorer(DEFAULT_EXPLORER_DIR)
