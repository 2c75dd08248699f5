// A key's address allowlist: ranges normalized (or refused) as people write
// them, addresses matched against them, and the service deciding the request's
// address from the socket, or from X-Forwarded-For only behind a trusted proxy.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { InvalidCidrError, isAddressAllowed, MAX_CIDRS, normalizeAllowlist, normalizeCidr } from '../../src/keys/allowlist.ts'
import { createKey } from '../../src/keys/store.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import { buildTestApp, expectError } from '../helper.ts'

function refused (t: Test, text: string, message: RegExp): void {
  t.throws(() => normalizeCidr(text), InvalidCidrError, `${JSON.stringify(text)} is refused`)
  try {
    normalizeCidr(text)
  } catch (error) {
    t.match((error as Error).message, message, `${JSON.stringify(text)}: ${(error as Error).message}`)
  }
}

void t.test('normalizeCidr: ranges and bare addresses, in canonical form', async (t) => {
  const cases: Array<[string, string]> = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.1.0/24', '192.168.1.0/24'],
    ['10.1.2.3', '10.1.2.3/32'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['  172.16.0.0/12 ', '172.16.0.0/12'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:0db8:0000:0000::/64', '2001:db8::/64'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['::1', '::1/128'],
    ['::/0', '::/0'],
    ['fe80::/10', 'fe80::/10']
  ]
  for (const [text, canonical] of cases) t.equal(normalizeCidr(text), canonical, `${JSON.stringify(text)} → ${canonical}`)
})

void t.test('normalizeCidr: host bits after the prefix are refused, naming the range meant', async (t) => {
  refused(t, '10.0.0.1/8', /bits set after its \/8 prefix: the range is 10\.0\.0\.0\/8\./)
  refused(t, '192.168.1.77/24', /the range is 192\.168\.1\.0\/24/)
  refused(t, '2001:db8::1/32', /the range is 2001:db8::\/32/)
  refused(t, '10.0.0.1/0', /the range is 0\.0\.0\.0\/0/)
})

void t.test('normalizeCidr: legacy IPv4 forms, garbage and impossible prefixes are refused', async (t) => {
  for (const legacy of ['10.1', '10.1.2', '127.1', '0x7f.0.0.1', '0x7f000001', '2130706433', '010.1.2.3', '10.1/8']) {
    refused(t, legacy, /is not an IP address or CIDR range/)
  }
  for (const garbage of ['', ' ', 'abc', 'localhost', '10.0.0.256', '10.0.0.0.0', '/8', '1.2.3.4 5', '2001:db8:::1', '10.0.0.0 /8']) {
    refused(t, garbage, /is not an IP address or CIDR range/)
  }
  for (const prefix of ['10.0.0.0/', '10.0.0.0/a', '10.0.0.0/-1', '10.0.0.0/8/9', '10.0.0.0/1000', '::/+1']) {
    refused(t, prefix, /has no valid prefix length|is not an IP address/)
  }
  refused(t, '10.0.0.0/33', /an ipv4 prefix length is at most 32/)
  refused(t, '::/129', /an ipv6 prefix length is at most 128/)
  refused(t, '::ffff:10.0.0.0/104', /IPv4-mapped IPv6 address: write the IPv4 range itself/)
  refused(t, '::ffff:10.1.2.3', /IPv4-mapped/)
  refused(t, 'fe80::1%eth0', /IPv6 zone/)
})

void t.test('normalizeAllowlist: normalized, deduplicated, at least one and at most 100 ranges', async (t) => {
  t.same(normalizeAllowlist(['10.0.0.0/8', ' 10.0.0.0/8', '10.0.0.0/08', '2001:DB8::/32', '192.0.2.7']),
    ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32'])
  t.throws(() => normalizeAllowlist([]), { name: 'InvalidCidrError', message: /at least one range.*remove the allowlist/ })
  const ranges = Array.from({ length: MAX_CIDRS }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`)
  t.equal(normalizeAllowlist(ranges).length, MAX_CIDRS, `${MAX_CIDRS} ranges are accepted`)
  t.throws(() => normalizeAllowlist([...ranges, '192.0.2.0/24']), { name: 'InvalidCidrError', message: `An allowlist holds at most ${MAX_CIDRS} ranges; got ${MAX_CIDRS + 1}.` })
  t.throws(() => normalizeAllowlist(['10.0.0.0/8', '10.1']), { name: 'InvalidCidrError', message: /"10\.1"/ }, 'one bad range refuses the list')
})

void t.test('isAddressAllowed', async (t) => {
  const ranges = ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32']
  const cases: Array<[string, boolean]> = [
    ['10.1.2.3', true],
    ['10.255.255.255', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::ffff:10.1.2.3', true],
    ['::ffff:a01:203', true],
    ['::FFFF:10.1.2.3', true],
    ['::ffff:11.0.0.1', false],
    ['2001:db8::5', true],
    ['2001:DB8:ffff::1', true],
    ['2001:db9::1', false],
    ['::1', false],
    ['127.0.0.1', false],
    // Only addresses as sockets and proxies write them.
    ['10.1', false],
    ['167772161', false],
    ['0xa.1.2.3', false],
    ['', false],
    ['not-an-ip', false],
    ['10.1.2.3, 10.1.2.4', false]
  ]
  for (const [address, allowed] of cases) t.equal(isAddressAllowed(address, ranges), allowed, `${JSON.stringify(address)}: ${allowed ? 'inside' : 'outside'}`)
  t.equal(isAddressAllowed('2001:db8::1', ['0.0.0.0/0']), false, 'an IPv6 address is outside every IPv4 range')
  t.equal(isAddressAllowed('10.1.2.3', ['::/0']), false, 'and an IPv4 address outside every IPv6 range')
  t.equal(isAddressAllowed('fe80::1%eth0', ['fe80::/10']), true, 'a link-local socket address with its zone')
  t.equal(isAddressAllowed('10.1.2.3', []), false, 'an empty list holds nothing')
})

interface Fixture { app: FastifyInstance, apiKey: string, keyId: string }

async function withAllowlist (t: Test, env: Record<string, string> = {}, allowedCidrs = ['10.0.0.0/8', '2001:db8::/32']): Promise<Fixture> {
  const { app } = await buildTestApp(t, env)
  const { client } = await findOrCreateClient(app.db, 'acme')
  const { apiKey, info } = await createKey(app.db, { clientId: client.id, scopes: ['logs:read'], allowedCidrs })
  return { app, apiKey, keyId: info.id }
}

async function read (fixture: Fixture, remoteAddress: string, forwardedFor?: string): Promise<LightMyRequestResponse> {
  return await fixture.app.inject({
    method: 'GET',
    url: '/api/v1/logs',
    remoteAddress,
    headers: { 'x-api-key': fixture.apiKey, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) }
  })
}

function outside (t: Test, res: LightMyRequestResponse, address: string): void {
  const body = expectError(t, res, 403, 'address_not_allowed')
  t.same(body.details, { address }, `names ${address}`)
  t.match(body.message, address)
}

void t.test('a key with an allowlist: accepted from inside, 403 from outside, and the refusal audited', async (t) => {
  const fixture = await withAllowlist(t)
  t.equal((await read(fixture, '10.1.2.3')).statusCode, 200, 'from 10.1.2.3')
  t.equal((await read(fixture, '::ffff:10.1.2.3')).statusCode, 200, 'from 10.1.2.3 behind an IPv6 socket')
  t.equal((await read(fixture, '2001:db8::42')).statusCode, 200, 'from an IPv6 address in range')
  outside(t, await read(fixture, '192.0.2.1'), '192.0.2.1')
  outside(t, await read(fixture, '2001:db9::1'), '2001:db9::1')

  await fixture.app.audit.flush()
  const events = await fixture.app.db.selectFrom('audit_events').selectAll()
    .where('reason', '=', 'address_not_allowed').orderBy('id').execute()
  t.same(events.map((event) => event.address), ['192.0.2.1', '2001:db9::1'], 'each refusal is in the audit trail with its address')
  t.equal(events[0]?.key_id, fixture.keyId, 'with the key')
  t.equal(events[0]?.event, 'auth.failed')

  const open = await findOrCreateClient(fixture.app.db, 'beta')
  const anywhere = await createKey(fixture.app.db, { clientId: open.client.id, scopes: ['logs:read'] })
  const res = await fixture.app.inject({ method: 'GET', url: '/api/v1/logs', remoteAddress: '192.0.2.1', headers: { 'x-api-key': anywhere.apiKey } })
  t.equal(res.statusCode, 200, 'a key without an allowlist is accepted from anywhere')
})

void t.test('without TRUST_PROXY, X-Forwarded-For is not believed', async (t) => {
  const fixture = await withAllowlist(t)
  outside(t, await read(fixture, '127.0.0.1', '10.1.2.3'), '127.0.0.1')
  outside(t, await read(fixture, '192.0.2.1', '10.1.2.3, 10.4.5.6'), '192.0.2.1')
  t.equal((await read(fixture, '10.1.2.3', '192.0.2.1')).statusCode, 200, 'nor can it shut out a caller inside')
})

void t.test('TRUST_PROXY=true: the client address is the first in X-Forwarded-For', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: 'true' })
  t.equal((await read(fixture, '127.0.0.1', '10.1.2.3')).statusCode, 200)
  t.equal((await read(fixture, '127.0.0.1', '10.1.2.3, 192.0.2.9')).statusCode, 200)
  outside(t, await read(fixture, '127.0.0.1', '192.0.2.1'), '192.0.2.1')
})

void t.test('behind a trusted proxy, an X-Forwarded-For that names no address is refused', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: 'true' })
  // Legacy IPv4 forms, and text that reaches a terminal when an audit row is printed.
  for (const forged of ['10.1', 'not-an-address', 'garbage\u009b2J, 10.1.2.3']) {
    expectError(t, await read(fixture, '127.0.0.1', forged), 400, 'invalid_forwarded_for')
  }
  await fixture.app.audit.flush()
  const addresses = await fixture.app.db.selectFrom('audit_events').select('address').execute()
  t.ok(addresses.every((row) => row.address === null || /^[0-9a-f.:]+$/.test(row.address)), 'only addresses reach the audit trail')
})

void t.test('TRUST_PROXY as a proxy address: only that proxy is believed', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: '127.0.0.1' })
  t.equal((await read(fixture, '127.0.0.1', '10.1.2.3')).statusCode, 200, 'through the trusted proxy')
  outside(t, await read(fixture, '192.0.2.9', '10.1.2.3'), '192.0.2.9')
  // The proxy appends the address it saw; what the client wrote before it is not believed.
  outside(t, await read(fixture, '127.0.0.1', '10.1.2.3, 192.0.2.1'), '192.0.2.1')
})

void t.test('TRUST_PROXY as a list of ranges', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: '127.0.0.1, 172.16.0.0/12' })
  t.equal((await read(fixture, '172.16.5.5', '10.1.2.3')).statusCode, 200)
  t.equal((await read(fixture, '127.0.0.1', '10.1.2.3, 172.16.0.9')).statusCode, 200, 'through two trusted proxies')
  outside(t, await read(fixture, '192.0.2.9', '10.1.2.3'), '192.0.2.9')
})

void t.test('TRUST_PROXY=1: what a client writes before the proxy\'s entry never helps', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: '1' })
  const body = expectError(t, await read(fixture, '127.0.0.1', '10.1.2.3, 192.0.2.1'), 403, 'address_not_allowed')
  t.not((body.details as { address: string }).address, '10.1.2.3', 'the forged entry is not the client address')
})

void t.test('TRUST_PROXY=1: the entry the one proxy added is the client address', async (t) => {
  const fixture = await withAllowlist(t, { TRUST_PROXY: '1' })
  t.equal((await read(fixture, '127.0.0.1', '10.1.2.3')).statusCode, 200)
  t.equal((await read(fixture, '127.0.0.1', '192.0.2.1, 10.1.2.3')).statusCode, 200, 'the entry the proxy added')
  outside(t, await read(fixture, '127.0.0.1', '10.1.2.3, 192.0.2.1'), '192.0.2.1')
})

void t.test('a bad TRUST_PROXY stops the start, naming it', async (t) => {
  for (const value of ['not-an-ip', '10.0.0.0/33', '127.0.0.1, nonsense']) {
    await t.rejects(buildTestApp(t, { TRUST_PROXY: value }), /TRUST_PROXY/, JSON.stringify(value))
  }
})
