// The Route53 provider against a fake of the Route53 REST XML API: zone lookup by name, TXT values
// merged with what is there (concurrent challenges coexist), exact DELETE of the last value,
// waiting for INSYNC (bounded), DDNS UPSERT, and the exact requests the SDK sends.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeRoute53, type FakeRoute53 } from '../../helpers/fake-route53.js';
import { Route53Provider } from '../../../src/dns/route53.js';
import { DnsApiError, DnsZoneNotFoundError } from '../../../src/dns/errors.js';
import { createDnsProvider } from '../../../src/dns/registry.js';

let fake: FakeRoute53;

before(async () => {
  fake = await startFakeRoute53([
    { id: 'ZPRIVATE', name: 'example.com', private: true },
    { id: 'ZPUBLIC', name: 'example.com' },
    { id: 'ZOTHER', name: 'other.org' },
  ]);
});
after(async () => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.pendingPolls = 1;
});

function provider(extra: Partial<ConstructorParameters<typeof Route53Provider>[0]> = {}): Route53Provider {
  return new Route53Provider({ endpoint: fake.url, region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', syncIntervalMs: 10, ...extra });
}

const name = '_acme-challenge.registry.example.com';
const txt = (value: string) => ({ name, type: 'TXT' as const, value, ttl: 60 });

describe('route53 provider (fake Route53 API)', () => {
  it('finds the public hosted zone by name, UPSERTs the TXT value quoted, and waits for INSYNC', async () => {
    await provider().appendRecords([txt('token-a')]);
    assert.deepEqual(fake.rrsets.get('ZPUBLIC')!.get(`${name}./TXT`), { ttl: 60, values: ['"token-a"'] });
    const calls = fake.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls, [
      'GET /2013-04-01/hostedzonesbyname', // _acme-challenge.registry.example.com: no zone
      'GET /2013-04-01/hostedzonesbyname', // registry.example.com: no zone
      'GET /2013-04-01/hostedzonesbyname', // example.com
      'GET /2013-04-01/hostedzone/ZPUBLIC/rrset',
      'POST /2013-04-01/hostedzone/ZPUBLIC/rrset',
      'GET /2013-04-01/change/C000001', // PENDING
      'GET /2013-04-01/change/C000001', // INSYNC
    ]);
    assert.deepEqual(fake.requests[2]!.query, { dnsname: 'example.com', maxitems: '10' });
    assert.deepEqual(fake.requests[3]!.query, { name, type: 'TXT', maxitems: '1' });
    const post = fake.requests[4]!;
    assert.match(post.authorization!, /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/route53\/aws4_request/);
    assert.match(post.body, /<Action>UPSERT<\/Action><ResourceRecordSet><Name>_acme-challenge\.registry\.example\.com<\/Name><Type>TXT<\/Type><TTL>60<\/TTL><ResourceRecords><ResourceRecord><Value>(&quot;|")token-a(&quot;|")<\/Value>/);
    await provider().deleteRecords([txt('token-a')]);
  });

  it('merges with existing values: two concurrent challenges on one name both stay; deleting one keeps the other', async () => {
    const p = provider({ hostedZoneId: '/hostedzone/ZPUBLIC' });
    await Promise.all([p.appendRecords([txt('base')]), p.appendRecords([txt('wildcard')])]);
    assert.deepEqual(fake.rrsets.get('ZPUBLIC')!.get(`${name}./TXT`)!.values.sort(), ['"base"', '"wildcard"']);
    // another process (a second instance) appends too: it reads the RRset first, so nothing is lost
    await provider({ hostedZoneId: 'ZPUBLIC' }).appendRecords([txt('third')]);
    assert.equal(fake.rrsets.get('ZPUBLIC')!.get(`${name}./TXT`)!.values.length, 3);
    fake.requests.length = 0;
    await p.deleteRecords([txt('base')]);
    assert.deepEqual(fake.rrsets.get('ZPUBLIC')!.get(`${name}./TXT`)!.values.sort(), ['"third"', '"wildcard"']);
    assert.match(fake.requests.find((r) => r.method === 'POST')!.body, /<Action>UPSERT<\/Action>/);
    // the last values go with a DELETE that repeats the RRset exactly (Route53 rejects anything else)
    fake.requests.length = 0;
    await p.deleteRecords([txt('wildcard'), txt('third')]);
    assert.equal(fake.rrsets.get('ZPUBLIC')!.has(`${name}./TXT`), false);
    assert.match(fake.requests.find((r) => r.method === 'POST')!.body, /<Action>DELETE<\/Action>/);
    // idempotent: nothing there, nothing sent
    fake.requests.length = 0;
    await p.deleteRecords([txt('wildcard')]);
    assert.deepEqual(fake.requests.map((r) => r.method), ['GET']);
  });

  it('a TXT value of 300 bytes is split into two quoted strings and read back whole', async () => {
    const p = provider({ hostedZoneId: 'ZPUBLIC' });
    const long = 'v'.repeat(300);
    await p.appendRecords([txt(long)]);
    assert.deepEqual(fake.rrsets.get('ZPUBLIC')!.get(`${name}./TXT`)!.values, [`"${'v'.repeat(255)}" "${'v'.repeat(45)}"`]);
    await p.deleteRecords([txt(long)]);
    assert.equal(fake.rrsets.get('ZPUBLIC')!.has(`${name}./TXT`), false);
  });

  it('setRecords UPSERTs the whole A RRset (DDNS)', async () => {
    const p = provider();
    await p.setRecords('home.other.org', 'A', ['192.0.2.1'], 300);
    await p.setRecords('home.other.org', 'A', ['192.0.2.2'], 300);
    assert.deepEqual(fake.rrsets.get('ZOTHER')!.get('home.other.org./A'), { ttl: 300, values: ['192.0.2.2'] });
  });

  it('gives up waiting for INSYNC after syncTimeoutMs with a clear error', async () => {
    fake.pendingPolls = 1000;
    const err = await provider({ hostedZoneId: 'ZPUBLIC', syncTimeoutMs: 100 }).appendRecords([txt('slow')]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsApiError, String(err));
    assert.match(err.message, /change \/change\/C\d+ is still PENDING after 100 ms/);
    fake.pendingPolls = 0;
    await provider({ hostedZoneId: 'ZPUBLIC' }).deleteRecords([txt('slow')]);
  });

  it('no hosted zone for the name: DnsZoneNotFoundError; an API error carries the Route53 code', async () => {
    await assert.rejects(provider().appendRecords([{ name: 'x.nowhere.net', type: 'TXT', value: 'v', ttl: 60 }]), DnsZoneNotFoundError);
    const err = await provider({ hostedZoneId: 'ZMISSING' }).appendRecords([txt('v')]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsApiError, String(err));
    assert.equal(err.status, 404);
    assert.match(err.message, /NoSuchHostedZone/);
  });

  it('is built from config by createDnsProvider', async () => {
    const p = createDnsProvider({ kind: 'route53', endpoint: fake.url, accessKeyId: 'AKIDTEST', secretAccessKey: 's', hostedZoneId: 'ZPUBLIC', syncTimeoutMs: 0 });
    assert.equal(p.kind, 'route53');
    await p.appendRecords([txt('cfg')]);
    await p.deleteRecords([txt('cfg')]);
  });
});
