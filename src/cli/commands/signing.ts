// keys signing <client_name> on | rotate | off: whether the client must sign
// its requests. `on` and `rotate` issue a new signing secret and print it
// once (the secret in force before stops working at once); `off` stops
// requiring signatures (API_SIGNING_REQUIRED still requires them of all).
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { issueSigningSecret, stopSigning } from '../../clients/settings.ts'
import { findClientByName } from '../../clients/store.ts'
import { cliActor } from '../actor.ts'
import { noClientNamed } from '../clients.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'

const ACTIONS = ['on', 'rotate', 'off'] as const
type Action = typeof ACTIONS[number]

export async function signing (db: Kysely<Database>, clientName: string, actionText: string, signingKey: string | undefined,
  signingRequired = false): Promise<CommandResult> {
  const action = actionText.trim() as Action
  if (!ACTIONS.includes(action)) throw new UsageError(`The action "${actionText}" is not one of ${ACTIONS.join(', ')}.`)
  const client = await findClientByName(db, clientName)
  if (client === undefined) throw noClientNamed(clientName)
  const name = shown(client.name)

  if (action === 'off') {
    const stopped = await stopSigning(db, client.id, cliActor())
    return {
      json: { client_id: client.id, client_name: client.name, signs: false, changed: stopped },
      text: (stopped
        ? `${name} no longer signs its requests; its signing secret stops working on every instance at once.`
        : `${name} did not sign its requests; nothing changed.`) +
        // With signatures required of every client, one without a secret is refused altogether.
        (signingRequired ? ` API_SIGNING_REQUIRED is true: every request of ${name} is now refused (401 signing_not_set_up) until it is given a secret again.` : '')
    }
  }
  if (action === 'on' && client.signing_generation !== null) {
    return {
      json: { client_id: client.id, client_name: client.name, signs: true, changed: false, signing_secret: null },
      text: `${name} signs its requests already; its secret was shown when it was issued. ` +
        '`keys signing <client> rotate` issues a new one.',
      exitCode: 1
    }
  }
  const { secret } = await issueSigningSecret(db, client.id, signingKey, cliActor())
  return {
    json: { client_id: client.id, client_name: client.name, signs: true, changed: true, signing_secret: secret },
    text: [
      `${name} must now sign every request with this secret (X-API-Timestamp, X-API-Nonce, X-API-Signature):`,
      '',
      `  ${secret}`,
      '',
      'Shown this once only: it is derived from SIGNING_KEY and never stored.' +
        (action === 'rotate' && client.signing_generation !== null ? ' The previous secret stopped working.' : '')
    ].join('\n')
  }
}
