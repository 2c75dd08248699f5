// Control characters and the key CLI: names that could disguise what a
// terminal shows are refused, and whatever the database already holds (rows
// written before the rule, addresses, actors) is printed escaped, in text and
// in --json, by every command that shows it.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t, { type Test } from 'tap'
import { keys, parsed, type Run } from './run.ts'
import { testDatabaseUrl } from '../helper.ts'

// Erases the line, writes a fake one in red, retitles the window, and a C1 CSI, a
// right-to-left override, a line separator, a newline starting a fake row, DEL.
const HOSTILE = 'ok\r\u001b[2K\u001b[31mFAKE LINE\u001b]0;owned\u0007 \u009b2J \u202egnp.exe \u2028 \n  fake row\u007f'
/**
 * The first character text output must never hold: any C0 character but the
 * line breaks the commands write, DEL, C1, the line and paragraph separators,
 * the bidirectional formatting characters.
 */
function firstRaw (text: string): string | undefined {
  const raw = [...text].find((char) => {
    const code = char.codePointAt(0)!
    return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 ||
      (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)
  })
  return raw === undefined ? undefined : `U+${raw.codePointAt(0)!.toString(16).padStart(4, '0')}`
}

/** A test name fit for a TAP line: everything but printable ASCII escaped (U+2029 would end the line), kept short. */
function label (text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`).slice(0, 40)
}

function clean (t: Test, run: Run, what: string): void {
  t.equal(firstRaw(run.stdout), undefined, `${what}: stdout holds no raw control, separator or bidirectional character`)
  t.equal(firstRaw(run.stderr), undefined, `${what}: nor does stderr`)
}

void t.test('names that could disguise what a terminal shows are refused by create', async (t) => {
  const url = await testDatabaseUrl(t)
  for (const name of [HOSTILE, 'tab\there', 'bell\u0007', 'csi\u009b31m', 'rlo\u202etxt', 'isolate\u2066x\u2069', 'para\u2029graph', '', 'x'.repeat(129)]) {
    const run = await keys(url, ['create', 'acme', '--name', name])
    t.equal(run.code, 2, `${label(name)}: a usage error`)
    t.match(run.stderr, /^--name (holds U\+[0-9A-F]{4} \(.+\) at character \d+|is empty|is 129 characters long)/)
    clean(t, run, 'the refusal')
  }
  const refused = await keys(url, ['create', 'acme', '--name', HOSTILE, '--json'])
  t.match(parsed<{ error: string }>(refused), { error: /^--name holds U\+000D \(a control character\) at character 3\./ })
  t.same(parsed<{ clients: unknown[] }>(await keys(url, ['list', '--json'])).clients, [], 'nothing was created')

  const kept = await keys(url, ['create', 'acme', '--name', 'Société — 東京 \u{1f511}', '--json'])
  t.equal(kept.code, 0, kept.stderr)
  const listed = parsed<{ clients: Array<{ keys: Array<{ name: string }> }> }>(await keys(url, ['list', '--json']))
  t.equal(listed.clients[0]?.keys[0]?.name, 'Société — 東京 \u{1f511}', 'printable text of any script is a name')
})

void t.test('what the database holds is printed escaped, in text and in --json, by every command', async (t) => {
  const url = await testDatabaseUrl(t)
  // Migrates the database, and makes a clean client beside the hostile one.
  t.equal((await keys(url, ['create', 'plain', '--json'])).code, 0)
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(async () => { await db.end() })
  // As a row written before names were checked, or by hand, would be.
  const { rows: [client] } = await db.query<{ id: string }>('INSERT INTO clients (name) VALUES ($1) RETURNING id', [HOSTILE])
  const clientId = client!.id
  const { rows: [key] } = await db.query<{ id: string }>(
    `INSERT INTO api_keys (client_id, name, prefix, key_hash, scopes, last_used_at, last_used_address, expires_at, allowed_cidrs)
     VALUES ($1, $2, $3, $4, $5, now(), $6, now() + interval '2 days', $7) RETURNING id`,
    [clientId, HOSTILE, 'clk_\u001b[31m', randomBytes(32), ['logs:read\u001b[0m'], '\u009b31m10.0.0.1\n', ['10.0.0.0/8\u001b[8m']])
  const keyId = key!.id
  await db.query(`INSERT INTO audit_events (client_id, event, key_id, key_prefix, actor, address, reason, details)
    VALUES ($1, 'auth.failed', $2, $3, $4, $5, $6, $7)`,
  [clientId, keyId, 'clk_\u009b', 'cli:\u001b]0;root\u0007', HOSTILE, '\u001b[32mok', JSON.stringify({ name: HOSTILE })])
  await db.query('INSERT INTO usage_daily (client_id, day, requests) VALUES ($1, current_date, 1)', [clientId])

  const commands: string[][] = [
    ['list'], ['list', '--client', HOSTILE], ['audit'], ['audit', '--client', HOSTILE], ['usage'], ['usage', '--client', HOSTILE],
    ['verify', '--client', HOSTILE], ['limit', HOSTILE], ['signing', HOSTILE, 'off'], ['list', '--client', `${HOSTILE}?`],
    ['allow', keyId, '--any'], ['rotate', keyId], ['revoke', keyId], ['revoke', HOSTILE]
  ]
  for (const args of commands) {
    const what = label(args.join(' '))
    const text = await keys(url, args)
    clean(t, text, what)
    const json = await keys(url, [...args, '--json'])
    // Raw line breaks in a JSON document are the layout's; nothing else of the kind may be raw.
    t.equal(firstRaw(json.stdout), undefined, `${what} --json: no raw control, separator or bidirectional character in the document`)
    parsed(json)
  }

  // Each value stays on its line, escaped: the fake row never starts a line of its own.
  const list = await keys(url, ['list', '--client', HOSTILE])
  t.equal(list.code, 0, list.stderr)
  const lines = list.stdout.split('\n')
  const escaped = 'ok\\x0d\\x1b[2K\\x1b[31mFAKE LINE\\x1b]0;owned\\x07 \\x9b2J \\u202egnp.exe \\u2028 \\x0a  fake row\\x7f'
  t.ok(lines[0]?.startsWith(`${escaped}  (${clientId}`), `the client line shows the name escaped: ${lines[0] ?? ''}`)
  t.ok(lines[1]?.includes(`"${escaped}"`), 'the key line shows the key name escaped')
  t.ok(lines[1]?.includes('clk_\\x1b[31m…'), 'and its prefix')
  t.ok(lines[1]?.includes('from \\x9b31m10.0.0.1\\x0a'), 'and the address it was last used from')
  t.notOk(lines.some((line) => line.startsWith('  fake row')), 'no fake row')

  const audit = await keys(url, ['audit', '--client', HOSTILE])
  t.match(audit.stdout, `by cli:\\x1b]0;root\\x07 from ${escaped}`, 'the actor and address, escaped')
  t.ok(audit.stdout.trimEnd().split('\n').every((line) => /^\d{4}-\d\d-\d\dT/.test(line)), 'each event on one line of its own')

  const json = parsed<{ clients: Array<{ client_name: string, keys: Array<{ name: string, last_used_address: string }> }> }>(
    await keys(url, ['list', '--client', HOSTILE, '--json']))
  t.equal(json.clients[0]?.client_name, HOSTILE, '--json carries the name exactly, as escapes that JSON reads back')
  t.equal(json.clients[0]?.keys[0]?.name, HOSTILE)
  t.equal(json.clients[0]?.keys[0]?.last_used_address, '\u009b31m10.0.0.1\n')
})
