// DDNS through a real BIND 9 with the ddns key (update-policy: one name, A and AAAA only): the
// RRset is replaced, nothing is sent while the address is unchanged, and the loop stops on abort;
// its status (what GET /api/v2.0/ddns shows) names the records written and the last failure.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startBind, type RunningBind } from '../helpers/bind.js';
import { DdnsUpdater, type AddressSource, type HostAddresses } from '../../src/dns/ddns.js';
import { Rfc2136Provider } from '../../src/dns/rfc2136.js';
import { DnsUpdateRefusedError } from '../../src/dns/errors.js';
import { apiClient, assertApiError } from '../helpers/openapi.js';
import { startTestRegistry } from '../helpers/registry.js';

let tmp: string;
let bind: RunningBind;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'minato-ddns-'));
  bind = await startBind(path.join(tmp, 'bind'), {
    zones: {
      'example.test': {
        records: 'home IN A 192.0.2.1\nhome IN A 192.0.2.2\n',
        policy: ['grant acme-key. wildcard *.example.test. TXT;', 'grant ddns-key. name home.example.test. A AAAA;'],
      },
    },
  });
});

after(async () => {
  await bind?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

class FakeSource implements AddressSource {
  constructor(public addresses: HostAddresses) {}
  async current(): Promise<HostAddresses> {
    return { ...this.addresses };
  }
}

function ddnsProvider(): Rfc2136Provider {
  const key = bind.keys['ddns-key']!;
  return new Rfc2136Provider({ server: bind.server, keyName: 'ddns-key', secret: key.secret });
}

async function serial(): Promise<string> {
  return (await bind.dig('example.test', 'SOA'))[0]!.split(' ')[2]!;
}

const log = pino({ level: 'silent' });

/** Polls the status until a record was written (the first check runs as the server starts). */
async function waitForRecords(read: () => Promise<{ records: unknown[] }>): Promise<any> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await read();
    if (status.records.length > 0) return status;
    assert.ok(Date.now() < deadline, `no record written: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('DDNS against BIND 9', () => {
  it('replaces the A RRset (two old values) and publishes AAAA, then sends nothing while unchanged', async () => {
    assert.deepEqual((await bind.dig('home.example.test', 'A')).sort(), ['192.0.2.1', '192.0.2.2']);
    const source = new FakeSource({ ipv6: '2001:db8::42', ipv4: '198.51.100.7' });
    const ddns = new DdnsUpdater({ provider: ddnsProvider(), names: ['home.example.test'], ttl: 120, intervalMs: 60_000, source, log });
    const first = await ddns.check();
    assert.deepEqual(first.updated.sort(), ['home.example.test A', 'home.example.test AAAA']);
    assert.deepEqual(await bind.dig('home.example.test', 'A'), ['198.51.100.7']);
    assert.deepEqual(await bind.dig('home.example.test', 'AAAA'), ['2001:db8::42']);
    assert.match(await bind.digRaw('home.example.test', 'A'), /home\.example\.test\.\s+120\s+IN\s+A/);

    const before = await serial();
    const second = await ddns.check();
    assert.deepEqual(second.updated, []);
    assert.equal(await serial(), before, 'no update reached the server (zone serial unchanged)');

    source.addresses = { ipv6: '2001:db8::43', ipv4: '198.51.100.7' };
    const third = await ddns.check();
    assert.deepEqual(third.updated, ['home.example.test AAAA']);
    assert.deepEqual(await bind.dig('home.example.test', 'AAAA'), ['2001:db8::43']);
    assert.deepEqual(await bind.dig('home.example.test', 'A'), ['198.51.100.7']);
  });

  it('the ddns key may not touch other names (REFUSED), and a failed update is retried at the next check', async () => {
    const source = new FakeSource({ ipv4: '198.51.100.9' });
    const ddns = new DdnsUpdater({ provider: ddnsProvider(), names: ['other.example.test'], ttl: 60, intervalMs: 60_000, source, log });
    await assert.rejects(ddns.check(), (e: unknown) => e instanceof DnsUpdateRefusedError && e.rcode === 'REFUSED');
    // nothing was recorded as published: the next check tries again (and fails again)
    await assert.rejects(ddns.check(), DnsUpdateRefusedError);
    const status = ddns.status();
    assert.deepEqual(status.records, []);
    assert.match(status.lastError!.message, /REFUSED/);
    assert.equal(status.lastError!.at, status.lastCheck);
  });

  it('GET /api/v2.0/ddns on a registry that runs DDNS: the records it wrote and the address it found; 404 where DDNS is off', async () => {
    const key = bind.keys['ddns-key']!;
    const reg = await startTestRegistry({
      ddns: {
        enabled: true,
        names: ['home.example.test'],
        provider: { kind: 'rfc2136', server: bind.server, keyName: 'ddns-key', secret: key.secret },
        ipv6: false,
        ipv4Command: ['echo', '198.51.100.77'],
        intervalSeconds: 60,
      },
    });
    const plain = await startTestRegistry();
    try {
      const api = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
      const status = await waitForRecords(async () => (await api('GET', '/api/v2.0/ddns')).json());
      assert.equal(status.provider, 'rfc2136');
      assert.deepEqual(status.names, ['home.example.test']);
      assert.deepEqual(status.addresses, { ipv4: '198.51.100.77' });
      assert.deepEqual(status.records, [{ name: 'home.example.test', type: 'A', address: '198.51.100.77' }]);
      assert.equal(status.lastError, undefined);
      assert.deepEqual(await bind.dig('home.example.test', 'A'), ['198.51.100.77']);
      assertApiError(await (await apiClient(reg.url))('GET', '/api/v2.0/ddns'), 401, 'UNAUTHORIZED');
      const off = await (await apiClient(plain.url, { headers: { Authorization: plain.basic } }))('GET', '/api/v2.0/ddns');
      assertApiError(off, 404, 'NOT_FOUND');
      assert.match(off.json().errors[0].message, /DDNS is off/);
    } finally {
      await Promise.all([reg.close(), plain.close()]);
    }
  });

  it('run() checks at start and on each interval, follows a change, and stops on abort', async () => {
    const source = new FakeSource({ ipv4: '203.0.113.1' });
    const ddns = new DdnsUpdater({ provider: ddnsProvider(), names: ['home.example.test'], ttl: 60, intervalMs: 100, source, log });
    const ac = new AbortController();
    const running = ddns.run(ac.signal);
    const waitA = async (want: string): Promise<void> => {
      const deadline = Date.now() + 5000;
      while ((await bind.dig('home.example.test', 'A'))[0] !== want) {
        assert.ok(Date.now() < deadline, `A never became ${want}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitA('203.0.113.1');
    source.addresses = { ipv4: '203.0.113.2' };
    await waitA('203.0.113.2');
    ac.abort();
    await running;
  });
});
