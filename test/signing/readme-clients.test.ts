// The README's signing clients, in TypeScript and in Python, exactly as
// printed there, run against a listening service: a user who copies either
// gets a working client.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { issueSigningSecret } from '../../src/clients/settings.ts'
import { buildTestApp, countLogs, entry, issueKey } from '../helper.ts'
import { listen } from './sign.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789'

async function readmeBlock (language: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8')
  const block = new RegExp('```' + language + ' signed-request\\n([\\s\\S]*?)```').exec(readme)?.[1]
  if (block === undefined) throw new Error(`the README has no \`\`\`${language} signed-request block`)
  return block
}

async function pythonAvailable (): Promise<string | false> {
  try {
    await run('python3', ['--version'])
    return false
  } catch {
    return 'python3 is not installed: the README\'s Python client is not run'
  }
}

void t.test('the README\'s clients sign requests the service accepts', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY })
  const key = await issueKey(app, 'acme')
  const { secret } = await issueSigningSecret(app.db, key.clientId, SIGNING_KEY, { actor: 'cli:test' })
  const url = await listen(app)
  const dir = await mkdtemp(path.join(tmpdir(), 'signing-client-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const env = {
    ...process.env,
    URL: url,
    API_KEY: key.apiKey,
    SECRET: secret,
    BODY: JSON.stringify(entry({ message: 'from a README client' })),
    // Needs percent-encoding: spaces, quotes, a non-ASCII letter.
    QUERY_TEXT: 'disk full über "it\'s"'
  }

  await t.test('TypeScript', async (t) => {
    await writeFile(path.join(dir, 'client.mts'), await readmeBlock('ts'))
    await writeFile(path.join(dir, 'main.mts'), [
      "import { signedRequest } from './client.mts'",
      'const { URL: url, API_KEY: key, SECRET: secret, BODY: body } = process.env as Record<string, string>',
      "const posted = await signedRequest(url, key, secret, 'POST', '/api/v1/logs', body)",
      "const read = await signedRequest(url, key, secret, 'GET', '/api/v1/logs?status=SUCCESS&limit=5&environment=production')",
      // eslint-disable-next-line no-template-curly-in-string -- the script's own template string
      "const spaced = await signedRequest(url, key, secret, 'GET', `/api/v1/logs?q=${process.env.QUERY_TEXT!}&limit=5`)",
      "const forged = await signedRequest(url, key, secret + 'x', 'GET', '/api/v1/logs')",
      'console.log(JSON.stringify([posted.status, read.status, spaced.status, forged.status]))'
    ].join('\n'))
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(dir, 'main.mts')], { env, cwd: ROOT })
    t.same(JSON.parse(stdout), [201, 200, 200, 401], 'posts, reads with a query (one that needs encoding too), and a wrong secret is refused')
  })

  const noPython = await pythonAvailable()
  if (noPython !== false) t.comment(noPython)
  await t.test('Python', { skip: noPython }, async (t) => {
    const script = [
      await readmeBlock('python'),
      'import json, os',
      'url, key, secret = os.environ["URL"], os.environ["API_KEY"], os.environ["SECRET"]',
      'posted, _ = signed_request(url, key, secret, "POST", "/api/v1/logs", os.environ["BODY"].encode())',
      'read, _ = signed_request(url, key, secret, "GET", "/api/v1/logs?status=SUCCESS&limit=5&environment=production")',
      'spaced, _ = signed_request(url, key, secret, "GET", "/api/v1/logs?" + urllib.parse.urlencode({"q": os.environ["QUERY_TEXT"], "limit": 5}))',
      'forged, _ = signed_request(url, key, secret + "x", "GET", "/api/v1/logs")',
      'print(json.dumps([posted, read, spaced, forged]))'
    ].join('\n')
    const { stdout } = await run('python3', ['-c', script], { env })
    t.same(JSON.parse(stdout), [201, 200, 200, 401], 'posts, reads with a query (one that needs encoding too), and a wrong secret is refused')
  })
  t.equal(await countLogs(app, key.clientId), noPython === false ? 2 : 1, 'each client\'s POST was stored')
})
