// Provider configuration: the discriminated union builds each provider, bad values are refused
// up front with readable messages, and the ddns section demands what DDNS needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createDdnsUpdater, createDnsProvider, ddnsConfigSchema, dnsProviderSchema } from '../../../src/dns/registry.js';
import { DnsConfigError } from '../../../src/dns/errors.js';

describe('DNS provider config', () => {
  it('builds each kind, with defaults', () => {
    const secret = Buffer.alloc(32, 1).toString('base64');
    assert.equal(createDnsProvider({ kind: 'rfc2136', server: '127.0.0.1:53', keyName: 'k', secret }).kind, 'rfc2136');
    assert.equal(createDnsProvider({ kind: 'route53', accessKeyId: 'a', secretAccessKey: 'b' }).kind, 'route53');
    assert.equal(createDnsProvider({ kind: 'cloudflare', apiToken: 't' }).kind, 'cloudflare');
    assert.equal(createDnsProvider({ kind: 'exec', present: ['true'], cleanup: ['true'] }).kind, 'exec');
    const parsed = dnsProviderSchema.parse({ kind: 'rfc2136', server: 'ns1', keyName: 'k', secret });
    assert.equal(parsed.kind === 'rfc2136' && parsed.algorithm, 'hmac-sha256');
  });

  it('refuses an unknown kind, an unknown TSIG algorithm and a secret that is not base64', () => {
    assert.throws(() => createDnsProvider({ kind: 'bogus' } as never), /kind/);
    assert.throws(() => createDnsProvider({ kind: 'rfc2136', server: 'ns1', keyName: 'k', secret: 'AAAA', algorithm: 'hmac-md5' as never }), /algorithm/);
    assert.throws(() => createDnsProvider({ kind: 'rfc2136', server: 'ns1', keyName: 'k', secret: 'not base64!' }), (e: unknown) => e instanceof DnsConfigError && /not valid base64/.test(e.message));
    assert.throws(() => createDnsProvider({ kind: 'rfc2136', server: 'ns1:99999', keyName: 'k', secret: 'AAAA' }), /invalid port/);
  });

  it('ddns: off by default; when enabled it needs names and a provider that can set records', () => {
    assert.equal(ddnsConfigSchema.parse(undefined).enabled, false);
    assert.equal(createDdnsUpdater(ddnsConfigSchema.parse({}), pino({ level: 'silent' })), undefined);
    const r = ddnsConfigSchema.safeParse({ enabled: true, provider: { kind: 'exec', present: ['true'], cleanup: ['true'] } });
    assert.equal(r.success, false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(messages.sort(), ['names: ddns is enabled but ddns.names is empty', 'provider.set: DDNS with the exec provider needs a "set" command']);
    const ok = ddnsConfigSchema.parse({ enabled: true, names: ['home.example.test'], provider: { kind: 'exec', present: ['true'], cleanup: ['true'], set: ['true'] } });
    assert.ok(createDdnsUpdater(ok, pino({ level: 'silent' })));
  });
});
