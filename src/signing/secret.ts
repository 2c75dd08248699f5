// A client's request-signing secret is derived, never stored:
//   secret = "cls_" + base64url(HMAC-SHA256(SIGNING_KEY, label ‖ client id ‖ generation))
// The database holds only the generation (which secret is in force), so a
// dump or backup of it reveals no secret. Issuing a new secret moves the
// generation on; changing SIGNING_KEY changes every client's secret at once.
import { createHmac } from 'node:crypto'

const LABEL = 'central-logger request signing v1'

/** The secret prefix lets secret scanners tell a signing secret from an API key (clk_). */
export const SIGNING_SECRET_PREFIX = 'cls_'

export function deriveSigningSecret (signingKey: string, clientId: string, generation: number): string {
  const mac = createHmac('sha256', signingKey).update(`${LABEL}\0${clientId}\0${generation}`).digest('base64url')
  return `${SIGNING_SECRET_PREFIX}${mac}`
}
