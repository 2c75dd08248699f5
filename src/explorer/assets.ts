// The explorer page's files, as `npm run build:explorer` writes them (npm ci
// and npm run build run it): each file with its gzip and Brotli forms, and a
// manifest naming the files served and which of them never change (their
// names hold a hash of their content). Read once, at start, and held in
// memory: a few files of some tens of kilobytes.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'

export const MANIFEST = 'manifest.json'

/** Where the page's files are served, each under its name. */
export const ASSET_PREFIX = '/explorer/'

export interface ManifestFile {
  /** The file's name in the build directory and under /explorer/. */
  name: string
  /** Named by its content's hash, so cached for good. */
  immutable: boolean
}

export interface Manifest {
  /** The page, answered at GET /. */
  page: string
  files: ManifestFile[]
}

export interface Asset {
  type: string
  immutable: boolean
  etag: string
  identity: Buffer
  gzip: Buffer | undefined
  br: Buffer | undefined
}

export interface Assets {
  page: Asset
  /** By file name. */
  files: Map<string, Asset>
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8'
}

/** The directory of the package (where package.json is) holding `from`: src/explorer when run from the sources, dist/src/explorer when compiled. */
function packageRoot (from: string): string {
  let dir = from
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) return from
    dir = parent
  }
  return dir
}

/** Where npm run build:explorer writes the page, whether the service runs from src/ (npm start) or dist/ (the Docker image). */
export const DEFAULT_EXPLORER_DIR = path.join(packageRoot(import.meta.dirname), 'dist', 'explorer')

async function readOptional (file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

async function loadAsset (dir: string, file: ManifestFile): Promise<Asset> {
  // The manifest is the build's own, but a name that climbs out of the directory is refused all the same.
  if (file.name !== path.basename(file.name)) throw new Error(`the explorer's manifest names ${file.name}, outside its directory`)
  const full = path.join(dir, file.name)
  const identity = await readFile(full)
  return {
    type: TYPES[path.extname(file.name)] ?? 'application/octet-stream',
    immutable: file.immutable,
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
    identity,
    gzip: await readOptional(`${full}.gz`),
    br: await readOptional(`${full}.br`)
  }
}

/** The built page and its files, or undefined when the directory holds no build. */
export async function loadAssets (dir: string): Promise<Assets | undefined> {
  const manifestText = await readOptional(path.join(dir, MANIFEST))
  if (manifestText === undefined) return undefined
  const manifest = JSON.parse(manifestText.toString('utf8')) as Manifest
  const files = new Map<string, Asset>()
  for (const file of manifest.files) files.set(file.name, await loadAsset(dir, file))
  const page = files.get(manifest.page)
  if (page === undefined) throw new Error(`the explorer's manifest names ${manifest.page} as the page, but not among its files`)
  files.delete(manifest.page)
  return { page, files }
}

/** The encoding to answer with, of those the asset has and the request accepts (Brotli first). */
export function chooseEncoding (asset: Asset, acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  const accepted = new Set<string>()
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    const refused = params.some((param) => /^\s*q=0(\.0*)?\s*$/.test(param))
    if (name !== undefined && name !== '' && !refused) accepted.add(name)
  }
  if (asset.br !== undefined && accepted.has('br')) return 'br'
  if (asset.gzip !== undefined && accepted.has('gzip')) return 'gzip'
  return undefined
}
