// The explorer page as the service serves it: GET / to a browser (while a
// client's GET / stays Elasticsearch's probe), its files under /explorer/,
// precompressed, cached by content, with the page's security headers; the
// first load's weight; and a clear answer when the page was not built.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildExplorer } from '../../scripts/lib/explorer-build.ts'
import { CONTENT_SECURITY_POLICY } from '../../src/explorer/headers.ts'
import { buildTestApp, expectError, issueKey } from '../helper.ts'

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br, zstd' }
const FIRST_LOAD_BUDGET = 150 * 1024

const explorerDir = await mkdtemp(path.join(tmpdir(), 'explorer-'))
t.teardown(async () => { await rm(explorerDir, { recursive: true, force: true }) })
const built = await buildExplorer(explorerDir)

function expectPageHeaders (t: Test, response: LightMyRequestResponse): void {
  t.equal(response.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.equal(response.headers['referrer-policy'], 'no-referrer')
  t.equal(response.headers['x-frame-options'], 'DENY')
}

/** The files the page names, in the order it names them. */
function namedFiles (html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
}

void t.test('the content security policy is strict', async (t) => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((directive) => {
    const [name, ...values] = directive.split(' ')
    return [name!, values.join(' ')]
  }))
  t.equal(directives.get('default-src'), "'self'")
  t.equal(directives.get('script-src'), "'self'", 'scripts of this origin only: no inline script, no eval')
  t.equal(directives.get('frame-ancestors'), "'none'")
  t.equal(directives.get('object-src'), "'none'")
  t.equal(directives.get('base-uri'), "'none'")
  t.notMatch(CONTENT_SECURITY_POLICY, /unsafe|\*|https?:|data:/, 'nothing loosened')
})

void t.test('GET / from a browser is the page, with its security headers, compressed as accepted', async (t) => {
  const { app } = await buildTestApp(t, {}, { explorerDir })
  const page = await app.inject({ method: 'GET', url: '/', headers: BROWSER })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(page.headers['content-encoding'], 'br')
  t.equal(page.headers.vary, 'accept-encoding')
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is checked each time: it names the current files')
  t.equal(page.headers['x-elastic-product'], undefined, 'not the Elasticsearch probe')
  expectPageHeaders(t, page)

  const plain = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })
  t.equal(plain.headers['content-encoding'], undefined, 'sent as is to a client that accepts no compression')
  const html = plain.body
  t.match(html, /<title>Log explorer/)
  t.notMatch(html, /<script(?![^>]*\ssrc=)/, 'no inline script')
  t.notMatch(html, /\sstyle=|<style/, 'no inline style')
  t.notMatch(html, /https?:|\/\/[a-z]/i, 'nothing from another origin')
  t.ok(namedFiles(html).every((file) => file.startsWith('/explorer/')), 'every file under /explorer/')

  const gzip = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html', 'accept-encoding': 'gzip' } })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  const refused = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html', 'accept-encoding': 'br;q=0, gzip' } })
  t.equal(refused.headers['content-encoding'], 'gzip', 'an encoding refused with q=0 is not used')

  const again = await app.inject({ method: 'GET', url: '/', headers: { ...BROWSER, 'if-none-match': page.headers.etag as string } })
  t.equal(again.statusCode, 304, 'unchanged: 304 by its ETag')
  t.equal(again.body, '')

  const head = await app.inject({ method: 'HEAD', url: '/', headers: BROWSER })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-security-policy'], CONTENT_SECURITY_POLICY)

  expectError(t, await app.inject({ method: 'GET', url: '/?api_key=x', headers: BROWSER }), 400, 'invalid_request')
})

void t.test('the page\'s files: typed, cached for good by their hashed names, and nothing else under /explorer/', async (t) => {
  const { app } = await buildTestApp(t, {}, { explorerDir })
  const html = (await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })).body
  const [icon, stylesheet, script] = namedFiles(html)
  const types: Array<[string | undefined, RegExp]> = [[icon, /^image\/svg\+xml/], [stylesheet, /^text\/css/], [script, /^text\/javascript/]]
  for (const [file, type] of types) {
    const response = await app.inject({ method: 'GET', url: file!, headers: BROWSER })
    t.equal(response.statusCode, 200, file ?? 'a file')
    t.match(response.headers['content-type'], type)
    expectPageHeaders(t, response)
    t.equal(response.headers['cache-control'], file === icon ? 'no-cache' : 'public, max-age=31536000, immutable')
  }
  const js = await app.inject({ method: 'GET', url: script!, headers: { 'accept-encoding': 'identity' } })
  t.notMatch(js.body, /https?:\/\/(?!www\.w3\.org\/)/, 'the script names no other origin (XML namespaces aside)')
  const css = await app.inject({ method: 'GET', url: stylesheet!, headers: { 'accept-encoding': 'identity' } })
  t.notMatch(css.body, /@import|url\(/, 'the stylesheet loads nothing')

  for (const url of ['/explorer/nothing.js', '/explorer/manifest.json', '/explorer/index.html', `${script!}.gz`, '/explorer/..%2Fpackage.json']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, `${url}: not one of the page's files`)
  }
})

void t.test('the first load (page, script, stylesheet, icon) is under 150 KB compressed', async (t) => {
  const { app } = await buildTestApp(t, {}, { explorerDir })
  const sent = async (url: string, encoding: string): Promise<number> =>
    (await app.inject({ method: 'GET', url, headers: { accept: 'text/html', 'accept-encoding': encoding } })).rawPayload.length
  const html = (await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })).body
  const urls = ['/', ...namedFiles(html)]
  let gzip = 0
  let brotli = 0
  for (const url of urls) {
    gzip += await sent(url, 'gzip')
    brotli += await sent(url, 'br')
  }
  t.comment(`first load: ${(gzip / 1024).toFixed(1)} KB with gzip, ${(brotli / 1024).toFixed(1)} KB with Brotli, in ${urls.length} files`)
  t.ok(gzip < FIRST_LOAD_BUDGET, `${gzip} bytes with gzip, under ${FIRST_LOAD_BUDGET}`)
  t.same(gzip, built.reduce((sum, file) => sum + file.gzipBytes, 0), 'as the build reports it')
})

void t.test('a client\'s GET / stays Elasticsearch\'s probe beside the page', async (t) => {
  const { app } = await buildTestApp(t, {}, { explorerDir })
  const { apiKey } = await issueKey(app, 'acme')
  const keyed = await app.inject({ method: 'GET', url: '/', headers: { ...BROWSER, 'x-api-key': apiKey } })
  t.equal(keyed.statusCode, 200)
  t.equal(keyed.headers['x-elastic-product'], 'Elasticsearch', 'a key makes it the probe, whatever it accepts')
  t.match(keyed.json(), { tagline: 'You Know, for Search' })
  const json = await app.inject({ method: 'GET', url: '/', headers: { accept: 'application/json' } })
  t.equal(json.statusCode, 401)
  t.match(json.json(), { code: 'missing_api_key' })
  t.equal(json.headers['content-security-policy'], undefined)
})

void t.test('a service whose page was not built says so to a browser, and still answers the probe', async (t) => {
  const empty = await mkdtemp(path.join(tmpdir(), 'explorer-none-'))
  t.teardown(async () => { await rm(empty, { recursive: true, force: true }) })
  const { app, logLines } = await buildTestApp(t, {}, { explorerDir: empty })
  const page = expectError(t, await app.inject({ method: 'GET', url: '/', headers: BROWSER }), 503, 'explorer_not_built')
  t.match(page.message, /npm run build:explorer/)
  t.ok(logLines().some((line) => line.includes('the explorer page is not built')), 'and warns at start')
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await app.inject({ method: 'GET', url: '/', headers: { authorization: `ApiKey ${apiKey}` } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/explorer/app.js' })).statusCode, 404)
})
