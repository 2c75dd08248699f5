import t from 'tap'
import { addressGroup } from '../../src/net/address-group.ts'

void t.test('an IPv4 address is its own group, also behind an IPv6 socket', async (t) => {
  t.equal(addressGroup('192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('0:0:0:0:0:ffff:c000:207'), '192.0.2.7')
})

void t.test('IPv6 addresses of one /64 are one group, in one spelling', async (t) => {
  t.equal(addressGroup('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  t.equal(addressGroup('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  t.equal(addressGroup('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64')
  t.equal(addressGroup('2001:db8::1'), '2001:db8::/64')
  t.not(addressGroup('2001:db8:1:3::1'), addressGroup('2001:db8:1:2::1'), 'the next /64 is another group')
})

void t.test('text that is no address is kept as it is', async (t) => {
  t.equal(addressGroup('not an address'), 'not an address')
})
