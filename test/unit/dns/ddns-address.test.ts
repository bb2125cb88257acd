// Which address DDNS publishes: global, stable IPv6 from /proc/net/if_inet6 (not temporary,
// deprecated, tentative, link-local, ULA or loopback), IPv4 from an interface or a command.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostAddressSource, isGlobalIpv6, parseIfInet6, pickIpv6 } from '../../../src/dns/ddns.js';
import { DdnsAddressError } from '../../../src/dns/errors.js';

// Real format: address, ifindex, prefix length, scope, flags, interface (all hex but the name).
const IF_INET6 = `
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000021132fffe123456 02 40 20 80     eth0
fd12345678900000021132fffe123456 02 40 00 00     eth0
20010db8000000000000000000000077 02 40 00 01     eth0
20010db800000000021132fffe123456 02 40 00 00     eth0
20010db8000000000000000000000005 02 40 00 20     eth0
20010db8000000000000000000000006 02 40 00 40     eth0
20010db8000000010000000000000001 03 40 00 80     eth1
`;

describe('DDNS address detection', () => {
  it('parses /proc/net/if_inet6 and compresses addresses', () => {
    const c = parseIfInet6(IF_INET6);
    assert.equal(c.length, 8);
    assert.deepEqual(c[0], { address: '::1', iface: 'lo', flags: 0x80 });
    assert.deepEqual(c[4], { address: '2001:db8::211:32ff:fe12:3456', iface: 'eth0', flags: 0 });
  });

  it('knows global unicast from loopback, link-local, ULA, multicast', () => {
    assert.equal(isGlobalIpv6('2001:db8::1'), true);
    assert.equal(isGlobalIpv6('::1'), false);
    assert.equal(isGlobalIpv6('fe80::1'), false);
    assert.equal(isGlobalIpv6('fd00::1'), false);
    assert.equal(isGlobalIpv6('ff02::1'), false);
    assert.equal(isGlobalIpv6('::ffff:192.0.2.1'), false);
  });

  it('picks a permanent address over a dynamic one, never temporary/deprecated/tentative, and sticks with its choice', () => {
    const c = parseIfInet6(IF_INET6);
    assert.equal(pickIpv6(c), '2001:db8:0:1::1'); // eth1, permanent (static)
    assert.equal(pickIpv6(c, { iface: 'eth0' }), '2001:db8::211:32ff:fe12:3456'); // SLAAC, not the temporary ::77
    assert.equal(pickIpv6(c, { previous: '2001:db8::211:32ff:fe12:3456' }), '2001:db8::211:32ff:fe12:3456');
    assert.equal(pickIpv6(c, { previous: '2001:db8::77' }), '2001:db8:0:1::1', 'a temporary previous is dropped');
    assert.equal(pickIpv6(parseIfInet6(IF_INET6.split('\n').filter((l) => !/2001|20010db8/.test(l) || l.includes(' 01 ')).join('\n'))), undefined);
  });

  it('HostAddressSource uses injected interfaces when /proc/net/if_inet6 is absent, and IPv4 from an interface', async () => {
    const src = new HostAddressSource({
      ipv4Interface: 'wan',
      readIfInet6: async () => undefined,
      networkInterfaces: () => ({
        lo: [{ address: '::1', family: 'IPv6', internal: true, netmask: '', mac: '', cidr: null, scopeid: 0 }],
        wan: [
          { address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 },
          { address: '2001:db8::9', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 0 },
          { address: '198.51.100.4', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null },
        ],
      }),
    });
    assert.deepEqual(await src.current(), { ipv6: '2001:db8::9', ipv4: '198.51.100.4' });
  });

  it('IPv4 from a command: stdout is the address; anything else is a clear error', async () => {
    const ok = new HostAddressSource({ ipv6: false, ipv4Command: ['sh', '-c', 'echo 203.0.113.8'] });
    assert.deepEqual(await ok.current(), { ipv4: '203.0.113.8' });
    const bad = new HostAddressSource({ ipv6: false, ipv4Command: ['sh', '-c', 'echo "<html>rate limited</html>"'] });
    await assert.rejects(bad.current(), (e: unknown) => e instanceof DdnsAddressError && /printed "<html>rate limited<\/html>", not an IPv4 address/.test(e.message));
    const failing = new HostAddressSource({ ipv6: false, ipv4Command: ['sh', '-c', 'echo offline >&2; exit 1'] });
    await assert.rejects(failing.current(), /failed \(exit code 1\); stderr: offline/);
  });
});
