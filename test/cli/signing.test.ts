// The CLI's signing and limit commands as real processes: a signing secret is
// printed once and is the one the service derives, a client that signs keeps
// its secret for its other keys, rotation replaces it, and without
// SIGNING_KEY nothing is created.
import t from 'tap'
import { deriveSigningSecret } from '../../src/signing/secret.ts'
import { testDatabaseUrl } from '../helper.ts'
import { inParallel, keys, parsed, type Run } from './run.ts'

// Each command is a fresh Node process (see ./run.ts): a few seconds apiece.
t.setTimeout(240_000)

const SIGNING_KEY = 'cli-test-signing-key-0123456789abcdef0123'
const WITH_KEY = { SIGNING_KEY }

interface Created { client_id: string, api_key: string, signs: boolean, signing_secret: string | null, env_line: string, ingest_rate_limit: number | null, message: string }

void t.test('create --signing, signing on | rotate | off, and limit', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const run = async (commands: string[][], env: (args: string[]) => Record<string, string> = () => WITH_KEY): Promise<Run[]> =>
    await inParallel(commands, async (args) => await keys(databaseUrl, args, '', env(args)))

  const [first, plain] = await run([['create', 'acme', '--signing', '--ingest-limit', '5000', '--json'], ['create', 'initech']])
  t.equal(first!.code, 0, first!.stderr)
  t.equal(plain!.code, 0, plain!.stderr)
  const created = parsed<Created>(first!)
  t.equal(created.signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 1), 'the secret printed is the one the service derives')
  t.match(created.env_line, `"secret_key":"${created.signing_secret!}"`, 'the development line signs too')
  t.match(created.message, created.signing_secret!, 'the hand-over message carries it')
  t.equal(created.ingest_rate_limit, 5000)

  const [second, on, bad, noKey, shown] = await run([
    ['create', 'acme', '--signing', '--json'],
    ['signing', 'acme', 'on'],
    ['signing', 'acme', 'maybe'],
    ['create', 'globex', '--signing'],
    ['limit', 'initech']
  ], (args) => args.includes('globex') ? {} : WITH_KEY)
  t.equal(second!.code, 0, second!.stderr)
  t.match(parsed<Created>(second!), { signs: true, signing_secret: null }, 'another key of a signing client: the secret is not shown again')
  t.equal(on!.code, 1, 'on, for a client that signs already, is refused')
  t.match(on!.stdout, /signs its requests already/)
  t.equal(bad!.code, 2)
  t.match(bad!.stderr, /not one of on, rotate, off/)
  t.equal(noKey!.code, 1, 'without SIGNING_KEY no secret can be issued')
  t.match(noKey!.stderr, /SIGNING_KEY, which is not set/)
  t.equal(shown!.code, 0, shown!.stderr)
  t.match(shown!.stdout, /initech may make 1200 requests per 1m \(the service's RATE_LIMIT_MAX\) and send 60000 log entries per minute/)

  const [rotated, set, twice, noGlobex, verified] = await run([
    ['signing', 'acme', 'rotate', '--json'],
    ['limit', 'initech', '600', '--entries', '20000', '--json'],
    ['limit', 'initech', '10', '--requests', '5'],
    ['verify', '--client', 'globex'],
    ['verify', created.api_key]
  ])
  t.equal(rotated!.code, 0, rotated!.stderr)
  t.equal(parsed<{ signing_secret: string }>(rotated!).signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 2), 'a new generation')
  t.match(parsed(set!), { rate_limit: 600, ingest_rate_limit: 20000, changed: true })
  t.equal(twice!.code, 2)
  t.match(twice!.stderr, /once/)
  t.equal(noGlobex!.code, 1, 'globex was never created: the failed create left nothing')
  t.match(noGlobex!.stderr, /No client named "globex"/)
  t.match(verified!.stdout, /^accepted: .*; its requests must be signed$/m, 'verify says the key alone is not enough')

  const [off, offAgain, reset] = await run([['signing', 'acme', 'off'], ['signing', 'initech', 'off'], ['limit', 'acme', '--entries', 'default', '--json']],
    (args) => args.includes('initech') ? { API_SIGNING_REQUIRED: 'true' } : WITH_KEY)
  t.equal(off!.code, 0, off!.stderr)
  t.match(off!.stdout, /acme no longer signs/)
  t.match(offAgain!.stdout, /initech did not sign its requests; nothing changed\. API_SIGNING_REQUIRED is true: every request of initech is now refused/,
    'with signatures required of all, the provider is told what off means')
  t.match(parsed(reset!), { client_name: 'acme', ingest_rate_limit: null, effective_ingest_rate_limit: 60000, changed: true })
})
