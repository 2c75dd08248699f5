// Module hooks that compile .ts files with esbuild: types are erased, every
// line stays where it was, and an inline source map points back at the file.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

export async function load (url, context, nextLoad) {
  if (!url.startsWith('file:') || !/\.m?ts$/.test(url)) return await nextLoad(url, context)
  const file = fileURLToPath(url)
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: file,
    sourcemap: 'inline'
  })
  return { format: 'module', source: code, shortCircuit: true }
}
