// The CLI's signing and limit commands: a signing secret is printed once and
// is the one the service derives, a client that signs keeps its secret for its
// other keys, rotation replaces it, and without SIGNING_KEY nothing is
// created. The command lines go through the CLI's own parsing (./run.ts);
// the rest calls the commands directly, on the same database.
import t from 'tap'
import { create } from '../../src/cli/commands/create.ts'
import { limit } from '../../src/cli/commands/limit.ts'
import { signing } from '../../src/cli/commands/signing.ts'
import { verifyKey } from '../../src/cli/commands/verify.ts'
import { deriveSigningSecret } from '../../src/signing/secret.ts'
import { buildTestApp } from '../helper.ts'
import { inParallel, keys, parsed, type Created } from './run.ts'

const SIGNING_KEY = 'cli-test-signing-key-0123456789abcdef0123'
const PUBLIC_URL = 'http://127.0.0.1:3000'
const DEFAULTS = { rateLimit: 1200, window: '1m', ingestRateLimit: 60000, ingestBytesLimit: 64 * 1024 * 1024, storageQuotaBytes: 0, maxBodyBytes: 5 * 1024 * 1024 }

void t.test('the command lines: create --signing --ingest-limit, and what they refuse', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const [created, badAction, noKey, twice] = await inParallel([
    ['create', 'acme', '--signing', '--ingest-limit', '5000', '--json'],
    ['signing', 'acme', 'maybe'],
    ['create', 'globex', '--signing'],
    ['limit', 'acme', '10', '--requests', '5']
  ], async (args) => await keys(databaseUrl, args, '', args.includes('globex') ? {} : { SIGNING_KEY }))
  t.equal(created!.code, 0, created!.stderr)
  const json = parsed<Created>(created!)
  t.equal(json.signing_secret, deriveSigningSecret(SIGNING_KEY, json.client_id, 1), 'the secret printed is the one the service derives')
  t.equal(json.ingest_rate_limit, 5000)
  t.equal(badAction!.code, 2)
  t.match(badAction!.stderr, /not one of on, rotate, off/)
  t.equal(noKey!.code, 1, 'without SIGNING_KEY no secret can be issued')
  t.match(noKey!.stderr, /SIGNING_KEY, which is not set/)
  t.equal(await app.db.selectFrom('clients').select('id').where('name', '=', 'globex').executeTakeFirst(), undefined, 'and nothing is created')
  t.equal(twice!.code, 2)
  t.match(twice!.stderr, /once/)
})

void t.test('create --signing, signing on | rotate | off, verify and limit', async (t) => {
  const { app } = await buildTestApp(t)
  const db = app.db
  const first = await create(db, { clientName: 'acme', signing: true, signingKey: SIGNING_KEY, publicUrl: PUBLIC_URL })
  const created = first.json as Created
  t.equal(created.signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 1))
  t.match(created.env_line, `"secret_key":"${created.signing_secret!}"`, 'the development line signs too')
  t.match(created.message, created.signing_secret!, 'the hand-over message carries it')
  t.match(first.text, /Signing: {2}cls_.*\n {10}the signing secret, shown this once only/)

  const second = await create(db, { clientName: 'acme', signing: true, signingKey: SIGNING_KEY, publicUrl: PUBLIC_URL })
  t.match(second.json, { signs: true, signing_secret: null }, 'another key of a signing client: the secret is not shown again')
  t.match(second.text, /as a development key it does not sign/)
  const on = await signing(db, 'acme', 'on', SIGNING_KEY)
  t.equal(on.exitCode, 1, 'on, for a client that signs already, is refused')
  t.match(on.text, /signs its requests already/)

  t.match((await verifyKey(db, created.api_key)).text, /^accepted: .*; its requests must be signed$/, 'verify says the key alone is not enough')
  const rotated = await signing(db, 'acme', 'rotate', SIGNING_KEY)
  t.equal((rotated.json as { signing_secret: string }).signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 2), 'a new generation')
  await t.rejects(signing(db, 'acme', 'rotate', undefined), /SIGNING_KEY, which is not set/)

  t.match((await signing(db, 'acme', 'off', SIGNING_KEY)).text, /acme no longer signs/)
  const again = await signing(db, 'acme', 'off', SIGNING_KEY, true)
  t.match(again.text, /acme did not sign its requests; nothing changed\. API_SIGNING_REQUIRED is true: every request of acme is now refused/,
    'with signatures required of all, the provider is told what off means')
  const reissued = await signing(db, 'acme', 'on', SIGNING_KEY)
  t.equal((reissued.json as { signing_secret: string }).signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 3),
    'a secret issued after off is a new one, never an old one back')
  await t.rejects(signing(db, 'nobody', 'on', SIGNING_KEY), /No client named "nobody"/)

  const shown = await limit(db, { clientName: 'acme', defaults: DEFAULTS })
  t.match(shown.text, /acme may make 1200 requests per 1m \(the service's RATE_LIMIT_MAX\) and send 60000 log entries per minute/)
  t.match(shown.json, { changed: false })
  t.match((await limit(db, { clientName: 'acme', requests: '600', entries: '20000', defaults: DEFAULTS })).json,
    { rate_limit: 600, ingest_rate_limit: 20000, changed: true })
  t.match((await limit(db, { clientName: 'acme', entries: 'default', defaults: DEFAULTS })).json,
    { rate_limit: 600, ingest_rate_limit: null, effective_ingest_rate_limit: 60000, changed: true })
  await t.rejects(limit(db, { clientName: 'acme', entries: '0', defaults: DEFAULTS }), /--entries "0" must be a whole number from 1/)
})
