// RFC 2136 + TSIG against a real BIND 9: records appear and disappear as dig sees them, two
// challenge values coexist, wrong keys and policy refusals give errors a person can act on,
// propagation waits and times out clearly, and _acme-challenge CNAME delegation is followed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBind, type RunningBind } from '../helpers/bind.js';
import { Rfc2136Provider } from '../../src/dns/rfc2136.js';
import { DnsPropagationTimeoutError, DnsUpdateRefusedError } from '../../src/dns/errors.js';
import { resolveChallengeName, waitForTxt } from '../../src/dns/propagation.js';
import { createDnsProvider } from '../../src/dns/registry.js';

let tmp: string;
let bind: RunningBind;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'minato-bind-'));
  bind = await startBind(path.join(tmp, 'bind'), {
    extraKeys: { 'acme-512': 'hmac-sha512', 'acme-sha1': 'hmac-sha1' },
    zones: {
      'example.test': {
        records: 'registry IN A 127.0.0.1\n_acme-challenge.delegated IN CNAME delegated.acme-delegate.test.\n',
        policy: [
          'grant acme-key. wildcard *.example.test. TXT;',
          'grant acme-512. wildcard *.example.test. TXT;',
          'grant acme-sha1. wildcard *.example.test. TXT;',
          'grant ddns-key. name home.example.test. A AAAA;',
        ],
      },
      'acme-delegate.test': { records: '', policy: ['grant acme-key. wildcard *.acme-delegate.test. TXT;'] },
    },
  });
});

after(async () => {
  await bind?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function acme(keyName = 'acme-key', overrides: Partial<{ secret: string; algorithm: string; zone: string }> = {}): Rfc2136Provider {
  const key = bind.keys[keyName]!;
  return new Rfc2136Provider({ server: bind.server, keyName: `${keyName}.`, algorithm: key.algorithm, secret: key.secret, servfailRetryDelaysMs: [200, 500], ...overrides });
}

describe('rfc2136 provider against BIND 9', () => {
  it('appends a TXT record that dig sees, and deletes it again (NXDOMAIN afterwards)', async () => {
    const p = acme();
    const rec = { name: '_acme-challenge.registry.example.test', type: 'TXT' as const, value: 'token-one', ttl: 60 };
    await p.appendRecords([rec]);
    assert.deepEqual(await bind.dig(rec.name, 'TXT'), ['token-one']);
    await p.deleteRecords([rec]);
    assert.deepEqual(await bind.dig(rec.name, 'TXT'), []);
    assert.match(await bind.digRaw(rec.name, 'TXT'), /status: NXDOMAIN/);
    // deleting again is not an error
    await p.deleteRecords([rec]);
  });

  it('keeps two TXT values on one name side by side, and deleting one leaves the other', async () => {
    const p = acme();
    const name = '_acme-challenge.both.example.test';
    const a = { name, type: 'TXT' as const, value: 'value-for-base-name', ttl: 60 };
    const b = { name, type: 'TXT' as const, value: 'value-for-wildcard', ttl: 60 };
    await Promise.all([p.appendRecords([a]), p.appendRecords([b])]);
    assert.deepEqual((await bind.dig(name, 'TXT')).sort(), [a.value, b.value].sort());
    await p.deleteRecords([a]);
    assert.deepEqual(await bind.dig(name, 'TXT'), [b.value]);
    await p.deleteRecords([b]);
    assert.deepEqual(await bind.dig(name, 'TXT'), []);
  });

  it('signs with hmac-sha512 and hmac-sha1 keys too, and handles a TXT value longer than 255 bytes', async () => {
    const long = 'x'.repeat(300);
    for (const keyName of ['acme-512', 'acme-sha1']) {
      const p = acme(keyName);
      const rec = { name: `_acme-challenge.${keyName}.example.test`, type: 'TXT' as const, value: long, ttl: 60 };
      await p.appendRecords([rec]);
      assert.deepEqual(await bind.dig(rec.name, 'TXT'), [long]);
      await p.deleteRecords([rec]);
      assert.deepEqual(await bind.dig(rec.name, 'TXT'), []);
    }
  });

  it('finds the zone by SOA and updates records in two zones in one call', async () => {
    const p = acme();
    assert.equal(await p.zoneFor('_acme-challenge.a.b.example.test'), 'example.test');
    assert.equal(await p.zoneFor('x.acme-delegate.test'), 'acme-delegate.test');
    const recs = [
      { name: '_acme-challenge.z1.example.test', type: 'TXT' as const, value: 'one', ttl: 60 },
      { name: 'z2.acme-delegate.test', type: 'TXT' as const, value: 'two', ttl: 60 },
    ];
    await p.appendRecords(recs);
    assert.deepEqual(await bind.dig(recs[0]!.name, 'TXT'), ['one']);
    assert.deepEqual(await bind.dig(recs[1]!.name, 'TXT'), ['two']);
    await p.deleteRecords(recs);
  });

  it('a wrong secret is BADSIG with a message naming the key', async () => {
    const wrong = Buffer.alloc(32, 7).toString('base64');
    const p = acme('acme-key', { secret: wrong });
    const err = await p.appendRecords([{ name: '_acme-challenge.registry.example.test', type: 'TXT', value: 'x', ttl: 60 }]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsUpdateRefusedError, String(err));
    assert.equal(err.rcode, 'BADSIG');
    assert.match(err.message, /TSIG key 'acme-key\.' was rejected \(BADSIG\): check the key name and secret/);
  });

  it('an unknown key name is BADKEY with a message naming the key', async () => {
    const p = new Rfc2136Provider({ server: bind.server, keyName: 'no-such-key', secret: bind.keys['acme-key']!.secret });
    const err = await p.appendRecords([{ name: '_acme-challenge.registry.example.test', type: 'TXT', value: 'x', ttl: 60 }]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsUpdateRefusedError, String(err));
    assert.equal(err.rcode, 'BADKEY');
    assert.match(err.message, /TSIG key 'no-such-key\.' was rejected \(BADKEY\): check the key name and secret/);
  });

  it('the update-policy refusal (acme key adding an A record) is REFUSED, and nothing was added', async () => {
    const p = acme();
    const err = await p.appendRecords([{ name: 'evil.example.test', type: 'A', value: '127.0.0.9', ttl: 60 }]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsUpdateRefusedError, String(err));
    assert.equal(err.rcode, 'REFUSED');
    assert.match(err.message, /REFUSED: the server's update-policy .* does not let key 'acme-key\.'/);
    assert.deepEqual(await bind.dig('evil.example.test', 'A'), []);
  });

  it('a record outside the configured zone is rejected before anything is sent', async () => {
    const p = acme('acme-key', { zone: 'acme-delegate.test' });
    await assert.rejects(p.appendRecords([{ name: '_acme-challenge.registry.example.test', type: 'TXT', value: 'x', ttl: 60 }]), { code: 'DNS_ZONE_NOT_FOUND' });
  });

  it('waitForTxt returns once the value is on the authoritative server', async () => {
    const p = acme();
    const rec = { name: '_acme-challenge.wait.example.test', type: 'TXT' as const, value: 'visible-soon', ttl: 60 };
    const waiting = waitForTxt(rec.name, rec.value, { nameservers: [bind.server], timeoutMs: 5000, intervalMs: 100 });
    setTimeout(() => void p.appendRecords([rec]), 300);
    const t0 = Date.now();
    await waiting;
    assert.ok(Date.now() - t0 < 4000);
    await p.deleteRecords([rec]);
  });

  it('waitForTxt times out with an error that says what each server answered', async () => {
    const p = acme();
    const name = '_acme-challenge.never.example.test';
    await p.appendRecords([{ name, type: 'TXT', value: 'some-other-value', ttl: 60 }]);
    const t0 = Date.now();
    const err = await waitForTxt(name, 'the-wanted-value', { nameservers: [bind.server], timeoutMs: 800, intervalMs: 100 }).catch((e: unknown) => e);
    const took = Date.now() - t0;
    assert.ok(err instanceof DnsPropagationTimeoutError, String(err));
    assert.ok(took >= 800 && took < 3000, `took ${took} ms`);
    assert.match(err.message, /TXT _acme-challenge\.never\.example\.test = "the-wanted-value" was not visible/);
    assert.match(err.message, new RegExp(`${bind.server.replace(/\./g, '\\.')} answered "some-other-value"`));
    await p.deleteRecords([{ name, type: 'TXT', value: 'some-other-value', ttl: 60 }]);
  });

  it('follows an _acme-challenge CNAME into another zone, and the TXT written there is what a validator sees', async () => {
    const target = await resolveChallengeName('_acme-challenge.delegated.example.test', { nameservers: [bind.server] });
    assert.equal(target, 'delegated.acme-delegate.test');
    assert.equal(await resolveChallengeName('_acme-challenge.registry.example.test', { nameservers: [bind.server] }), '_acme-challenge.registry.example.test');
    const p = createDnsProvider({ kind: 'rfc2136', server: bind.server, keyName: 'acme-key', secret: bind.keys['acme-key']!.secret });
    await p.appendRecords([{ name: target, type: 'TXT', value: 'delegated-token', ttl: 60 }]);
    // dig at the original name follows nothing itself (authoritative, no recursion), so ask the target and check the CNAME
    assert.deepEqual(await bind.dig('_acme-challenge.delegated.example.test', 'CNAME'), ['delegated.acme-delegate.test.']);
    assert.deepEqual(await bind.dig(target, 'TXT'), ['delegated-token']);
    await waitForTxt(target, 'delegated-token', { nameservers: [bind.server], timeoutMs: 2000, intervalMs: 100 });
    await p.deleteRecords([{ name: target, type: 'TXT', value: 'delegated-token', ttl: 60 }]);
  });
});

describe('rfc2136 over TCP', () => {
  it('sends an update too big for UDP over TCP, and reads a truncated TXT answer over TCP', async () => {
    const p = acme();
    const name = '_acme-challenge.big.example.test';
    const recs = Array.from({ length: 6 }, (_, i) => ({ name, type: 'TXT' as const, value: `${i}`.repeat(200), ttl: 60 }));
    await p.appendRecords(recs); // > 512 bytes: TCP
    assert.equal((await bind.dig(name, 'TXT')).length, 6);
    // the TXT answer is > 512 bytes: BIND sets TC over UDP and the query is repeated over TCP
    await waitForTxt(name, recs[5]!.value, { nameservers: [bind.server], timeoutMs: 2000, intervalMs: 100 });
    await p.deleteRecords(recs);
    assert.deepEqual(await bind.dig(name, 'TXT'), []);
  });
});
