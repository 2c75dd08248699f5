// The unit that per-address limits count by. An IPv4 address is one host, but
// a single IPv6 subscriber is usually given a whole /64 and can pick any of
// its 2^64 addresses for each request: counted by the full address, a
// throttle or a connection cap would never see the same "address" twice. So
// IPv6 addresses count by their /64, and an IPv4 client behind an IPv6 socket
// (`::ffff:192.0.2.7`) counts as the IPv4 address it is.
import ipaddr from 'ipaddr.js'

/** `192.0.2.7` for IPv4, `2001:db8:1:2::/64` for IPv6; text that is no address is returned as it is. */
export function addressGroup (address: string): string {
  // An IPv4 address as Node.js writes a peer's (every request asks): nothing to parse.
  if (!address.includes(':')) return address
  if (!ipaddr.isValid(address)) return address
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6
    if (!v6.isIPv4MappedAddress()) {
      return `${new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`
    }
    parsed = v6.toIPv4Address()
  }
  return parsed.toString()
}
