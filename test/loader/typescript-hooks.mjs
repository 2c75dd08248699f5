// Module hooks that compile .ts files with esbuild: types are erased, every
// line stays where it was, and an inline source map points back at the file.
//
// The suite loads the same files in a hundred processes: each file's output is
// kept in node_modules/.cache, keyed by the file's path, modification time and
// size and by what compiles it, so that only the first process compiles it.
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform, version } from 'esbuild'

const OPTIONS = { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline' }
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/test-loader/', import.meta.url))
const COMPILER = `esbuild ${version} ${JSON.stringify(OPTIONS)}`

async function compiled (file) {
  const { mtimeMs, size } = await stat(file)
  const cached = CACHE + createHash('sha256').update(`${COMPILER}\0${file}\0${mtimeMs}\0${size}`).digest('hex') + '.js'
  const hit = await readFile(cached, 'utf8').catch(() => undefined)
  if (hit !== undefined) return hit
  const { code } = await transform(await readFile(file, 'utf8'), { ...OPTIONS, sourcefile: file })
  // Written aside and renamed: a process reading it meanwhile sees all of it or nothing.
  await mkdir(CACHE, { recursive: true })
  const partial = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`
  await writeFile(partial, code)
  await rename(partial, cached)
  return code
}

export async function load (url, context, nextLoad) {
  if (!url.startsWith('file:') || !/\.m?ts$/.test(url)) return await nextLoad(url, context)
  return { format: 'module', source: await compiled(fileURLToPath(url)), shortCircuit: true }
}
