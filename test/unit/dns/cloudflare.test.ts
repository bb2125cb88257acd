// The Cloudflare provider against a fake Cloudflare API v4: zone lookup, quoted TXT content,
// values coexisting, exact deletes by record id, pagination, DDNS replace, and token errors.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeCloudflare, type FakeCloudflare } from '../../helpers/fake-cloudflare.js';
import { CloudflareProvider } from '../../../src/dns/cloudflare.js';
import { DnsApiError, DnsZoneNotFoundError } from '../../../src/dns/errors.js';

const TOKEN = 'cf-test-token';
let fake: FakeCloudflare;

before(async () => {
  fake = await startFakeCloudflare(TOKEN, [
    { id: 'zone-example', name: 'example.com' },
    { id: 'zone-other', name: 'other.org' },
  ]);
});
after(async () => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.records.length = 0;
  fake.maxPerPage = 100;
});

const p = (): CloudflareProvider => new CloudflareProvider({ apiToken: TOKEN, baseUrl: fake.url });
const name = '_acme-challenge.registry.example.com';
const txt = (value: string, ttl = 60) => ({ name, type: 'TXT' as const, value, ttl });

describe('cloudflare provider (fake API v4)', () => {
  it('looks the zone up by name and creates a quoted TXT record with the exact request', async () => {
    await p().appendRecords([txt('token-a', 30)]);
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}${Object.keys(r.query).length ? '?' + new URLSearchParams(r.query) : ''}`),
      [
        'GET /zones?name=_acme-challenge.registry.example.com',
        'GET /zones?name=registry.example.com',
        'GET /zones?name=example.com',
        'GET /zones/zone-example/dns_records?type=TXT&name=_acme-challenge.registry.example.com&per_page=100&page=1',
        'POST /zones/zone-example/dns_records',
      ],
    );
    // TTL below Cloudflare's minimum is raised to 60; content is a quoted character-string
    assert.deepEqual(fake.requests[4]!.body, { type: 'TXT', name, content: '"token-a"', ttl: 60 });
    assert.equal(fake.requests[4]!.authorization, `Bearer ${TOKEN}`);
  });

  it('two values coexist, appending an existing value sends nothing, deleting one removes exactly that record', async () => {
    const prov = p();
    await Promise.all([prov.appendRecords([txt('base')]), prov.appendRecords([txt('wildcard')])]);
    assert.deepEqual(fake.records.map((r) => r.content).sort(), ['"base"', '"wildcard"']);
    fake.requests.length = 0;
    await prov.appendRecords([txt('base')]);
    assert.deepEqual(fake.requests.map((r) => r.method), ['GET']);
    // an unquoted record made by hand or by an older client is recognised too
    fake.records.push({ id: 'manual', zone_id: 'zone-example', type: 'TXT', name, content: 'manual', ttl: 60 });
    const baseId = fake.records.find((r) => r.content === '"base"')!.id;
    fake.requests.length = 0;
    await prov.deleteRecords([txt('base'), txt('manual')]);
    assert.deepEqual(
      fake.requests.filter((r) => r.method === 'DELETE').map((r) => r.path),
      [`/zones/zone-example/dns_records/${baseId}`, '/zones/zone-example/dns_records/manual'],
    );
    assert.deepEqual(fake.records.map((r) => r.content), ['"wildcard"']);
    await prov.deleteRecords([txt('base')]); // idempotent
  });

  it('finds records on later pages', async () => {
    fake.maxPerPage = 2;
    const prov = new CloudflareProvider({ apiToken: TOKEN, baseUrl: fake.url, zoneId: 'zone-example' });
    await prov.appendRecords(['a', 'b', 'c', 'd', 'e'].map((v) => txt(v)));
    assert.equal(fake.records.length, 5);
    await prov.deleteRecords([txt('e')]);
    assert.deepEqual(fake.records.map((r) => r.content), ['"a"', '"b"', '"c"', '"d"']);
    assert.ok(fake.requests.some((r) => r.query.page === '3'));
  });

  it('setRecords replaces the AAAA RRset, creating before deleting, and keeps an unchanged record', async () => {
    const prov = p();
    await prov.setRecords('home.other.org', 'AAAA', ['2001:db8::1'], 300);
    const firstId = fake.records[0]!.id;
    await prov.setRecords('home.other.org', 'AAAA', ['2001:db8::1'], 300);
    assert.equal(fake.records[0]!.id, firstId, 'unchanged: same record kept');
    fake.requests.length = 0;
    await prov.setRecords('home.other.org', 'AAAA', ['2001:db8::2'], 300);
    assert.deepEqual(fake.records.map((r) => [r.name, r.content, r.ttl]), [['home.other.org', '2001:db8::2', 300]]);
    assert.deepEqual(fake.requests.filter((r) => r.method !== 'GET').map((r) => r.method), ['POST', 'DELETE']);
  });

  it('a bad token is a DnsApiError saying which permission is needed; an unknown zone is DnsZoneNotFoundError', async () => {
    const err = await new CloudflareProvider({ apiToken: 'wrong', baseUrl: fake.url }).appendRecords([txt('x')]).catch((e: unknown) => e);
    assert.ok(err instanceof DnsApiError, String(err));
    assert.equal(err.status, 403);
    assert.match(err.message, /9109: Invalid access token.*Zone:DNS:Edit/);
    await assert.rejects(p().appendRecords([{ name: 'x.nowhere.net', type: 'TXT', value: 'v', ttl: 60 }]), DnsZoneNotFoundError);
  });
});
