// A key's address allowlist: CIDR ranges written as people write them
// (`10.0.0.0/8`, `2001:db8::/32`, or a bare address for one host), checked
// against the request's address with ipaddr.js, which also sees an IPv4
// client behind an IPv6 socket (`::ffff:10.1.2.3`) as the IPv4 address it is.
import ipaddr from 'ipaddr.js'

/** Most ranges one key may list: an allowlist, not a firewall. */
export const MAX_CIDRS = 100

export class InvalidCidrError extends Error {
  override name = 'InvalidCidrError'
}

/**
 * An IPv6 address, or an IPv4 one as a dotted quad: ipaddr.js also reads
 * legacy forms (10.1, 0x7f.1, 167772161) that no one means in an allowlist.
 */
export function isPlainAddress (address: string): boolean {
  return address.includes(':') ? ipaddr.IPv6.isValid(address) : ipaddr.IPv4.isValidFourPartDecimal(address)
}

/** The canonical text of one range; a bare address is a single host. Throws InvalidCidrError. */
export function normalizeCidr (text: string): string {
  const trimmed = text.trim()
  const slash = trimmed.indexOf('/')
  // Everything after the first "/" is the prefix length, so "10.0.0.0/8/9" is refused rather than read as /8.
  const [address, bits] = slash === -1 ? [trimmed, undefined] : [trimmed.slice(0, slash), trimmed.slice(slash + 1)]
  if (address.includes('%')) {
    throw new InvalidCidrError(`"${text}" names an IPv6 zone (after "%"): an allowlist holds addresses and ranges only.`)
  }
  if (!isPlainAddress(address)) {
    throw new InvalidCidrError(`"${text}" is not an IP address or CIDR range.`)
  }
  const parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    throw new InvalidCidrError(`"${text}" is an IPv4-mapped IPv6 address: write the IPv4 range itself.`)
  }
  const width = parsed.kind() === 'ipv4' ? 32 : 128
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) throw new InvalidCidrError(`"${text}" has no valid prefix length after the "/".`)
  const prefix = bits === undefined ? width : Number(bits)
  if (prefix > width) throw new InvalidCidrError(`"${text}": an ${parsed.kind()} prefix length is at most ${width}.`)
  const network = parsed.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${prefix}`)
  // An address with host bits set (10.0.0.1/8) is most likely a typo for
  // something narrower; refusing it beats silently allowing a whole network.
  if (network.toString() !== parsed.toString()) {
    throw new InvalidCidrError(`"${text}" has bits set after its /${prefix} prefix: the range is ${network.toString()}/${prefix}.`)
  }
  return `${network.toString()}/${prefix}`
}

/** A whole allowlist, normalized and deduplicated; an empty list is refused (use null for "any address"). */
export function normalizeAllowlist (ranges: readonly string[]): string[] {
  if (ranges.length === 0) throw new InvalidCidrError('An allowlist needs at least one range; to accept any address, remove the allowlist.')
  if (ranges.length > MAX_CIDRS) throw new InvalidCidrError(`An allowlist holds at most ${MAX_CIDRS} ranges; got ${ranges.length}.`)
  return [...new Set(ranges.map(normalizeCidr))]
}

/** Whether a normalized range lies wholly inside one of the (normalized) ranges. */
export function isRangeWithin (range: string, ranges: readonly string[]): boolean {
  const [network, prefix] = ipaddr.parseCIDR(range)
  return ranges.some((outer) => {
    const [outerNetwork, outerPrefix] = ipaddr.parseCIDR(outer)
    return network.kind() === outerNetwork.kind() && prefix >= outerPrefix && network.match(outerNetwork, outerPrefix)
  })
}

/** Whether the address is inside one of the ranges. An address that does not parse is outside. */
export function isAddressAllowed (address: string, ranges: readonly string[]): boolean {
  // A forwarded "10.1" is no address of 10.0.0.1.
  if (!isPlainAddress(address)) return false
  const parsed = ipaddr.process(address)
  return ranges.some((range) => {
    const [network, prefix] = ipaddr.parseCIDR(range)
    return network.kind() === parsed.kind() && parsed.match(network, prefix)
  })
}
