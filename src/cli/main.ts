// The provider's key CLI, `npm run keys -- <command>`, as a function of its
// arguments and its input and output, so that the script is a thin shell
// around it and the tests can run a command line without starting a process.
// Works with or without the service running, on DATABASE_URL or the embedded
// PostgreSQL.
import { parseArgs } from 'node:util'
import { loadConfig, type Config } from '../config.ts'
import { openCliDatabase } from './database.ts'
import { jsonText, terminalText, UsageError, type CommandResult } from './output.ts'
import { create } from './commands/create.ts'
import { list } from './commands/list.ts'
import { verifyClient, verifyKey } from './commands/verify.ts'
import { rotate } from './commands/rotate.ts'
import { revoke } from './commands/revoke.ts'
import { allow } from './commands/allow.ts'
import { usage } from './commands/usage.ts'
import { audit } from './commands/audit.ts'
import { limit, requestLimitArgument } from './commands/limit.ts'
import { retention } from './commands/retention.ts'
import { defaults } from './commands/defaults.ts'
import { signing } from './commands/signing.ts'
import { throttleClear, throttleList } from './commands/throttle.ts'
import { AUDIT_EVENTS } from '../audit/store.ts'

/** Where a command line reads and writes. */
export interface CliIo {
  /** The environment to configure from; absent: process.env and `.env`. */
  env?: Record<string, string | undefined>
  readStdin: () => Promise<string>
  out: (text: string) => void
  err: (text: string) => void
}

/** Words wrapped at `width`, each line after the first indented by `indent` spaces, as the usage text is. */
function wrapped (text: string, width: number, indent: number): string {
  const lines: string[] = []
  for (const word of text.split(' ')) {
    const last = lines.length - 1
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`
    else lines.push(word)
  }
  return lines.join(`\n${' '.repeat(indent)}`)
}

const USAGE = `Usage: npm run keys -- <command> [options]

Commands:
  create <client_name> [--scopes a,b] [--expires-in 90d] [--name LABEL] [--allow CIDRS]
         [--rate-limit N] [--ingest-limit N] [--ingest-bytes-limit N] [--storage-quota N]
         [--signing] [--environment NAME] [--status STATUS]
                       create the client if new, and a key; prints the key once,
                       and an API_KEYS line for a development .env.
                       --rate-limit: the client's requests per window (or "default")
                       --ingest-limit: the client's log entries per minute (or "default")
                       --ingest-bytes-limit: the client's bytes of log entries per
                       minute (or "default"; at least MAX_BODY_BYTES)
                       --storage-quota: the bytes of logs the client may store
                       (or "none", or "default")
                       --signing: the client must sign its requests; prints its
                       signing secret once (needs SIGNING_KEY)
                       --environment, --status: what a log gets when it says
                       none (or "default": none), as the defaults command sets
  list [--client NAME] [--older-than 90d]
                       clients and their keys, with last use (never a key);
                       flags keys that stop working within 14 days.
                       --older-than: only active keys created longer ago, i.e. due
                       for rotation (a key in its rotation grace is replaced already)
  rotate <key_id> [--grace 24h] [--expires-in 90d]
                       a new key with the same scopes, name and allowlist; the old
                       one works until the grace ends (0: stops at once), never
                       past its own expiry. Without --expires-in the new key gets
                       the old one's lifetime again
  revoke <key_id>      refuse the key at once, on every running instance
  allow <key_id> <cidr,...> | --any
                       accept the key only from these address ranges, or from anywhere
  limit <client_name> [N | default] [--requests N|default] [--entries N|default]
        [--bytes N|default] [--storage N|none|default]
                       the client's requests per rate limit window (N or --requests),
                       log entries per minute (--entries) and their bytes per minute
                       (--bytes, at least MAX_BODY_BYTES), across its keys, and the
                       bytes of logs it may store (--storage); without a value,
                       shows them and the bytes it stores
  retention <client_name> [<days>d | <weeks>w | default]
                       how long the client's logs are kept after their executed_at
                       (default: RETENTION_DAYS); without a value, shows it
  defaults <client_name> [--environment NAME|default] [--status STATUS|default]
                       what a log that leaves out environment or status gets, on
                       every ingest route ("default": none; the native route then
                       requires the field); without an option, shows them
  signing <client_name> on | rotate | off
                       on, rotate: the client must sign its requests; prints a new
                       signing secret once (the previous one stops working);
                       off: it need not (needs SIGNING_KEY for on and rotate)
  verify <api_key>     whether the key would be accepted, and why not ("-" reads it from stdin)
  verify --client NAME whether each of the client's keys would be accepted
  usage [--client NAME] [--days 30 | --from YYYY-MM-DD --to YYYY-MM-DD]
                       requests and logs per client and UTC day, with totals
                       (default: the last 30 days; at most 366)
  audit [--client NAME] [--event TYPE] [--limit 100]
                       key events and authentication failures, newest first;
                       ${wrapped(`TYPE: ${AUDIT_EVENTS.join(', ')}`, 66, 23)}
  throttle list        the addresses blocked for failed authentications (an IPv6
                       address counts by its /64), as the running instances report them
  throttle clear <address> | --all
                       lift the block (and forget the failures) of an address, or of
                       every one, on every running instance at once

Every command takes --json: exactly one JSON document on stdout.
Durations: 45s, 30m, 24h, 90d, 2w. Byte counts: digits, or 64MiB, 10GB (KiB, MiB, GiB,
TiB are powers of 1024; KB, MB, GB, TB of 1000); bytes of logs are counted as
stored: the UTF-8 bytes of their text fields and attributes.
Exit status: 0 done; 1 refused or not found (an unknown key id or client name,
a key that cannot be rotated, verify refusing, signing on for a client that
signs already, a signing secret asked for without SIGNING_KEY); 2 bad usage (an unknown option,
a bad duration, day, number or CIDR range, a key id that is not a UUID).
Scopes: logs:write, logs:read, keys:manage (default: logs:write,logs:read).
(When piping --json output, run npm with -s so that it prints no banner: npm run -s keys -- list --json)`

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  scopes: { type: 'string' },
  'expires-in': { type: 'string' },
  name: { type: 'string' },
  client: { type: 'string' },
  allow: { type: 'string' },
  'rate-limit': { type: 'string' },
  'ingest-limit': { type: 'string' },
  'ingest-bytes-limit': { type: 'string' },
  'storage-quota': { type: 'string' },
  signing: { type: 'boolean' },
  environment: { type: 'string' },
  status: { type: 'string' },
  requests: { type: 'string' },
  entries: { type: 'string' },
  bytes: { type: 'string' },
  storage: { type: 'string' },
  any: { type: 'boolean' },
  grace: { type: 'string' },
  'older-than': { type: 'string' },
  days: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  event: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' }
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

function expectArguments (command: string, positionals: string[], count: number, most = count): void {
  if (positionals.length < count || positionals.length > most) {
    const takes = most === 0 ? 'no argument' : count === most ? `${count} argument${count === 1 ? '' : 's'}` : `${count} to ${most} arguments`
    throw new UsageError(`${command} takes ${takes}; got ${positionals.length}. See --help.`)
  }
}

function rejectOptions (command: string, values: Values, allowed: string[]): void {
  const given = Object.keys(values).filter((name) => !['json', 'help', ...allowed].includes(name))
  if (given.length > 0) throw new UsageError(`${command} does not take --${given.join(', --')}. See --help.`)
}

async function run (config: Config, command: string, args: string[], values: Values, io: CliIo): Promise<CommandResult> {
  const needsDatabase = async <T>(work: (db: Awaited<ReturnType<typeof openCliDatabase>>['db']) => Promise<T>): Promise<T> => {
    const database = await openCliDatabase(config)
    try {
      return await work(database.db)
    } finally {
      await database.close()
    }
  }
  switch (command) {
    case 'create': {
      rejectOptions(command, values, ['scopes', 'expires-in', 'name', 'allow', 'rate-limit', 'ingest-limit', 'ingest-bytes-limit',
        'storage-quota', 'signing', 'environment', 'status'])
      expectArguments(command, args, 1)
      return await needsDatabase(async (db) => await create(db, {
        clientName: args[0]!,
        scopes: values.scopes,
        expiresIn: values['expires-in'],
        name: values.name,
        allow: values.allow,
        rateLimit: values['rate-limit'],
        ingestLimit: values['ingest-limit'],
        ingestBytesLimit: values['ingest-bytes-limit'],
        storageQuota: values['storage-quota'],
        environment: values.environment,
        status: values.status,
        maxBodyBytes: config.MAX_BODY_BYTES,
        signing: values.signing,
        signingKey: config.SIGNING_KEY,
        publicUrl: config.PUBLIC_URL
      }))
    }
    case 'list':
      rejectOptions(command, values, ['client', 'older-than'])
      expectArguments(command, args, 0)
      return await needsDatabase(async (db) => await list(db, { clientName: values.client, olderThan: values['older-than'] }))
    case 'rotate':
      rejectOptions(command, values, ['grace', 'expires-in'])
      expectArguments(command, args, 1)
      return await needsDatabase(async (db) => await rotate(db, { keyId: args[0]!, grace: values.grace, expiresIn: values['expires-in'] }))
    case 'revoke':
      rejectOptions(command, values, [])
      expectArguments(command, args, 1)
      return await needsDatabase(async (db) => await revoke(db, args[0]!))
    case 'allow':
      rejectOptions(command, values, ['any'])
      // One argument or two: allow itself says what a missing range or --any means.
      expectArguments(command, args, 1, 2)
      return await needsDatabase(async (db) => await allow(db, args[0]!, args[1], values.any === true))
    case 'usage':
      rejectOptions(command, values, ['client', 'days', 'from', 'to'])
      expectArguments(command, args, 0)
      return await needsDatabase(async (db) => await usage(db, { clientName: values.client, days: values.days, from: values.from, to: values.to }))
    case 'limit': {
      rejectOptions(command, values, ['requests', 'entries', 'bytes', 'storage'])
      expectArguments(command, args, 1, 2)
      const requests = requestLimitArgument(args[1], values.requests)
      return await needsDatabase(async (db) => await limit(db, {
        clientName: args[0]!,
        requests,
        entries: values.entries,
        bytes: values.bytes,
        storage: values.storage,
        defaults: {
          rateLimit: config.RATE_LIMIT_MAX,
          window: config.RATE_LIMIT_WINDOW,
          ingestRateLimit: config.INGEST_RATE_LIMIT,
          ingestBytesLimit: config.INGEST_BYTES_LIMIT,
          storageQuotaBytes: config.STORAGE_QUOTA_BYTES,
          maxBodyBytes: config.MAX_BODY_BYTES
        }
      }))
    }
    case 'retention':
      rejectOptions(command, values, [])
      expectArguments(command, args, 1, 2)
      return await needsDatabase(async (db) => await retention(db, args[0]!, args[1], config.RETENTION_DAYS))
    case 'defaults':
      rejectOptions(command, values, ['environment', 'status'])
      expectArguments(command, args, 1)
      return await needsDatabase(async (db) => await defaults(db, { clientName: args[0]!, environment: values.environment, status: values.status }))
    case 'signing':
      rejectOptions(command, values, [])
      expectArguments(command, args, 2)
      return await needsDatabase(async (db) => await signing(db, args[0]!, args[1]!, config.SIGNING_KEY, config.API_SIGNING_REQUIRED))
    case 'audit':
      rejectOptions(command, values, ['client', 'event', 'limit'])
      expectArguments(command, args, 0)
      return await needsDatabase(async (db) => await audit(db, { clientName: values.client, event: values.event, limit: values.limit }))
    case 'throttle': {
      const [action, ...rest] = args
      if (action === 'list') {
        rejectOptions('throttle list', values, [])
        expectArguments('throttle list', rest, 0)
        return await needsDatabase(async (db) => await throttleList(db))
      }
      if (action === 'clear') {
        rejectOptions('throttle clear', values, ['all'])
        expectArguments('throttle clear', rest, 0, 1)
        return await needsDatabase(async (db) => await throttleClear(db, rest[0], values.all === true))
      }
      throw new UsageError('throttle takes list, or clear <address> | --all. See --help.')
    }
    case 'verify': {
      rejectOptions(command, values, ['client'])
      if (values.client !== undefined) {
        expectArguments(command, args, 0)
        return await needsDatabase(async (db) => await verifyClient(db, values.client!))
      }
      expectArguments(command, args, 1)
      const key = args[0] === '-' ? await io.readStdin() : args[0]!
      return await needsDatabase(async (db) => await verifyKey(db, key))
    }
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`)
  }
}

/** The message on stderr and, since --json promises one JSON document on stdout, as `{"error"}` there too. */
function reportError (io: CliIo, message: string, json: boolean): void {
  if (json) io.out(`${jsonText({ error: message })}\n`)
  io.err(`${terminalText(message)}\n`)
}

/** Runs one command line; the exit status. */
export async function runKeysCli (argv: string[], io: CliIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    // A command line that does not parse still honours --json.
    reportError(io, (error as Error).message, argv.includes('--json'))
    io.err(`\n${USAGE}\n`)
    return 2
  }
  const { values, positionals: [command, ...args] } = parsed
  if (values.help === true || command === undefined || command === 'help') {
    io.out(`${USAGE}\n`)
    return command === undefined && values.help !== true ? 2 : 0
  }
  try {
    const config = loadConfig(io.env)
    const result = await run(config, command, args, values, io)
    io.out(values.json === true ? `${jsonText(result.json, 2)}\n` : `${terminalText(result.text)}\n`)
    return result.exitCode ?? 0
  } catch (error) {
    reportError(io, error instanceof Error ? error.message : String(error), values.json === true)
    return error instanceof UsageError ? 2 : 1
  }
}
