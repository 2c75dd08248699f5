// Who made a change from the command line, for the audit trail: the operating
// system user running the CLI.
import { userInfo } from 'node:os'
import { validate as isUuid } from 'uuid'
import type { Actor } from '../audit/store.ts'
import { shown, UsageError } from './output.ts'

export function cliActor (): Actor {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // No passwd entry (some containers): the change is still recorded, as by an unknown user.
  }
  return { actor: `cli:${user}` }
}

/** A key id as `list` prints it; anything else is a usage error, not a lookup. */
export function keyIdArgument (text: string): string {
  if (!isUuid(text)) throw new UsageError(`"${shown(text)}" is not a key id: key ids are UUIDs, as \`list\` shows them.`)
  return text.toLowerCase()
}
