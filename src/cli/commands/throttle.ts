// keys throttle list | clear <address> | clear --all: the addresses the
// failed-authentication throttle blocks, as the running instances report them,
// and lifting a block on every running instance at once (they hear of it
// through a database notification). An IPv6 address stands for its /64.
import ipaddr from 'ipaddr.js'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { clearBlocks, listBlocks, type Block } from '../../auth/throttle-blocks.ts'
import { addressGroup } from '../../net/address-group.ts'
import { cliActor } from '../actor.ts'
import { UsageError, type CommandResult } from '../output.ts'

function present (block: Block) {
  return { address: block.address, blocked_at: block.blockedAt.toISOString(), blocked_until: block.blockedUntil.toISOString() }
}

/** An address as given (or an IPv6 /64 as `list` prints it) as the group the throttle counts by. */
export function addressArgument (text: string): string {
  const trimmed = text.trim()
  const address = trimmed.endsWith('/64') && trimmed.includes(':') ? trimmed.slice(0, -3) : trimmed
  if (!ipaddr.isValid(address) || address.includes('%')) {
    throw new UsageError(`"${text}" is not an IP address (or an IPv6 /64 as \`throttle list\` shows it).`)
  }
  return addressGroup(address)
}

export async function throttleList (db: Kysely<Database>, now = new Date()): Promise<CommandResult> {
  const blocks = await listBlocks(db, now)
  const text = blocks.length === 0
    ? 'No address is blocked for failed authentications.'
    : blocks.map((block) => `${block.address.padEnd(24)} blocked since ${block.blockedAt.toISOString()} until ${block.blockedUntil.toISOString()}`)
      .join('\n') + `\n${blocks.length} blocked address${blocks.length === 1 ? '' : 'es'}. Lift a block with: npm run keys -- throttle clear <address>`
  return { json: { blocked: blocks.map(present) }, text }
}

export async function throttleClear (db: Kysely<Database>, address: string | undefined, all: boolean): Promise<CommandResult> {
  if (all === (address !== undefined)) throw new UsageError('throttle clear takes an address, or --all.')
  const group = all ? '*' : addressArgument(address!)
  const lifted = await clearBlocks(db, group, cliActor())
  const which = all ? 'every blocked address' : group
  return {
    json: { address: all ? null : group, all, lifted: lifted.map(present) },
    text: `Lifted the failed-authentication block of ${which} on every running instance, and forgot its failures there` +
      (lifted.length === 0 ? ' (no block of it had been reported).' : ` (${lifted.length} block${lifted.length === 1 ? '' : 's'} reported).`)
  }
}
