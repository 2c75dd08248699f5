// Where a client's webhook may point. A tenant gives the URL and the service
// makes the request, from inside the provider's network: without care, an
// endpoint at 10.0.0.5, 127.0.0.1 or 169.254.169.254 (a cloud's metadata
// service) would let a tenant make the service call what only it can reach.
// So a tenant's endpoint is https, on a public address, unless the provider
// says otherwise: WEBHOOK_ALLOW_PRIVATE opens private ranges (https still),
// WEBHOOK_ALLOW_LOOPBACK the loopback addresses (http too, for tests). A
// link-local address (the metadata service) is never allowed.
//
// The URL is checked when the endpoint is made, and its host's addresses each
// time it is called, on the addresses the connection then uses (safeLookup),
// so a name that later resolves elsewhere (DNS rebinding) is caught too.
import type { LookupAddress, LookupOptions } from 'node:dns'
import { lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

export interface DestinationPolicy {
  allowPrivate: boolean
  allowLoopback: boolean
}

export const MAX_URL_LENGTH = 2048

export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError'
}

const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'carrierGradeNat'])

/** Why a connection to this address is refused, or undefined when it is allowed. */
export function addressProblem (address: string, policy: DestinationPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`
  const range = ipaddr.process(address).range()
  if (range === 'unicast') return undefined
  if (range === 'loopback') return policy.allowLoopback ? undefined : `${address} is a loopback address`
  if (PRIVATE_RANGES.has(range)) return policy.allowPrivate ? undefined : `${address} is a private address (${range})`
  return `${address} is not a public address (${range})`
}

/** The URL's host without IPv6 brackets. */
function hostOf (url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
}

function isLoopbackHost (host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  return isIP(host) !== 0 && ipaddr.process(host).range() === 'loopback'
}

/** The URL as a client's endpoint, or DestinationRefusedError saying why not. */
export function checkEndpointUrl (text: string, policy: DestinationPolicy): URL {
  if (text.length > MAX_URL_LENGTH) throw new DestinationRefusedError(`A webhook URL is at most ${MAX_URL_LENGTH} characters.`)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new DestinationRefusedError('The webhook URL does not parse as an absolute URL.')
  }
  if (url.username !== '' || url.password !== '') {
    throw new DestinationRefusedError('A webhook URL may not carry a user name or password: requests are authenticated by their signature.')
  }
  const host = hostOf(url)
  if (url.protocol === 'http:') {
    if (!(policy.allowLoopback && isLoopbackHost(host))) {
      throw new DestinationRefusedError('A webhook URL must be https (http is allowed only for loopback addresses, when the provider allows them).')
    }
  } else if (url.protocol !== 'https:') {
    throw new DestinationRefusedError('A webhook URL must be https.')
  }
  if (isIP(host) !== 0) {
    const problem = addressProblem(host, policy)
    if (problem !== undefined) throw new DestinationRefusedError(`The webhook URL is refused: ${problem}.`)
  } else if (isLoopbackHost(host) && !policy.allowLoopback) {
    throw new DestinationRefusedError(`The webhook URL is refused: ${host} is a loopback name.`)
  }
  return url
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `lookup` for http(s).request that resolves the name as usual, then
 * refuses the connection if any address it gives is refused: the check is on
 * the very addresses connected to. `loopbackOnly`: every address must be a
 * loopback one (an http endpoint).
 */
export function safeLookup (policy: DestinationPolicy, loopbackOnly: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, [])
        return
      }
      for (const { address } of addresses) {
        const problem = loopbackOnly && ipaddr.process(address).range() !== 'loopback'
          ? `${address} is not a loopback address, as an http endpoint's must be`
          : addressProblem(address, policy)
        if (problem !== undefined) {
          callback(Object.assign(new DestinationRefusedError(`${hostname} resolves to a refused address: ${problem}`), { code: 'EREFUSEDADDRESS' }), [])
          return
        }
      }
      if (options.all === true) callback(null, addresses)
      else callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}
