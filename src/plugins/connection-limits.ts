// Caps on the connections held open at once: MAX_CONNECTIONS in all, and
// MAX_CONNECTIONS_PER_ADDRESS for one address group (an IPv4 address, an IPv6
// /64), so that neither a crowd nor one client can hold every socket. A
// connection past a cap is answered 503 too_many_connections at once and
// closed, before any request on it is read.
//
// Behind a trusted proxy (TRUST_PROXY) every client's connections arrive from
// the proxy, and capping it would cap them all together: connections from a
// trusted proxy count toward MAX_CONNECTIONS only. Per client, the proxy is
// the place to cap connections; the in-flight body caps still count by the
// forwarded address.
import type { Socket } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'
import fp from 'fastify-plugin'
import { trustProxySetting, type TrustProxy } from '../config.ts'
import { Errors, errorBody } from '../errors.ts'
import { addressGroup } from '../net/address-group.ts'
import { rawAnswer } from './client-errors.ts'

/** Whether a connection's peer is a proxy that TRUST_PROXY trusts (Fastify asks the same of the nearest hop). */
function trustedPeer (setting: TrustProxy): (address: string) => boolean {
  if (typeof setting === 'boolean') return () => setting
  if (typeof setting === 'function') return (address) => setting(address, 0)
  const trusts = proxyAddr.compile(setting)
  return (address) => trusts(address, 0)
}

export default fp(async function connectionLimits (fastify) {
  const { MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, RETRY_AFTER_SECONDS, TRUST_PROXY } = fastify.config
  const isProxy = trustedPeer(trustProxySetting(TRUST_PROXY))
  const byGroup = new Map<string, number>()
  let open = 0

  function refuse (socket: Socket, scope: 'address' | 'service'): void {
    const error = Errors.tooManyConnections(scope, scope === 'address' ? MAX_CONNECTIONS_PER_ADDRESS : MAX_CONNECTIONS, RETRY_AFTER_SECONDS)
    socket.on('error', () => {})
    // Written before the request is read, and the connection closed: what the client sent is never handled.
    socket.end(rawAnswer(error.statusCode, errorBody(error), error.headers))
    socket.destroySoon()
  }

  fastify.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const group = isProxy(address) ? undefined : addressGroup(address)
    const fromGroup = group === undefined ? 0 : byGroup.get(group) ?? 0
    if (open >= MAX_CONNECTIONS) {
      refuse(socket, 'service')
      return
    }
    if (group !== undefined && fromGroup >= MAX_CONNECTIONS_PER_ADDRESS) {
      refuse(socket, 'address')
      return
    }
    open++
    if (group !== undefined) byGroup.set(group, fromGroup + 1)
    socket.once('close', () => {
      open--
      if (group === undefined) return
      const left = (byGroup.get(group) ?? 1) - 1
      if (left > 0) byGroup.set(group, left)
      else byGroup.delete(group)
    })
  })
}, { name: 'connection-limits', dependencies: ['env'] })
