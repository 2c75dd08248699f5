// Builds the explorer page (web/) into a directory the service serves
// (src/explorer/assets.ts): esbuild bundles the TypeScript and the CSS into
// one script and one stylesheet named by their content's hash, the page
// names them, and each file gets its gzip and Brotli forms beside it, so
// the service compresses nothing while it runs.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import { ASSET_PREFIX, type Manifest } from '../../src/explorer/assets.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
export const WEB_DIR = path.join(ROOT, 'web')

export interface BuiltFile {
  name: string
  bytes: number
  gzipBytes: number
  brotliBytes: number
}

function compressed (body: Buffer): { gzip: Buffer, br: Buffer } {
  return {
    gzip: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
  }
}

async function bundle (outDir: string): Promise<{ script: string, stylesheet: string }> {
  const result = await esbuild.build({
    entryPoints: { app: path.join(WEB_DIR, 'src', 'main.tsx') },
    bundle: true,
    format: 'esm',
    minify: true,
    // Browsers of the last few years: what the page uses (fetch streams, <dialog>, :focus-visible) is there.
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: outDir,
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
    absWorkingDir: ROOT
  })
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file))
  const script = outputs.find((file) => file.endsWith('.js'))
  const stylesheet = outputs.find((file) => file.endsWith('.css'))
  if (script === undefined || stylesheet === undefined) throw new Error(`esbuild wrote ${outputs.join(', ')}: a script and a stylesheet were expected`)
  return { script, stylesheet }
}

/** Builds the page into `outDir` (emptied first); returns each file served, with its sizes. */
export async function buildExplorer (outDir: string): Promise<BuiltFile[]> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const { script, stylesheet } = await bundle(outDir)
  const template = await readFile(path.join(WEB_DIR, 'index.html'), 'utf8')
  const page = template
    .replace('{{script}}', `${ASSET_PREFIX}${script}`)
    .replace('{{stylesheet}}', `${ASSET_PREFIX}${stylesheet}`)
  if (page.includes('{{')) throw new Error('web/index.html names a file the build does not know')
  await writeFile(path.join(outDir, 'index.html'), page)
  await writeFile(path.join(outDir, 'favicon.svg'), await readFile(path.join(WEB_DIR, 'favicon.svg')))

  const manifest: Manifest = {
    page: 'index.html',
    files: [
      { name: 'index.html', immutable: false },
      { name: script, immutable: true },
      { name: stylesheet, immutable: true },
      { name: 'favicon.svg', immutable: false }
    ]
  }
  const built: BuiltFile[] = []
  for (const { name } of manifest.files) {
    const body = await readFile(path.join(outDir, name))
    const { gzip, br } = compressed(body)
    await writeFile(path.join(outDir, `${name}.gz`), gzip)
    await writeFile(path.join(outDir, `${name}.br`), br)
    built.push({ name, bytes: body.length, gzipBytes: gzip.length, brotliBytes: br.length })
  }
  await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  return built
}
