// Manual renewals: at most one per interval, with the time left; and how `cert status` shows the
// time left of a certificate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeLeft } from '../../src/cli/cert-commands.js';
import type { CertificateProvider, CertificateStatus } from '../../src/tls/certificate-provider.js';
import { isRenewalDue, ManualRenewal } from '../../src/tls/manual-renewal.js';

function provider(renews = true): CertificateProvider & { renewals: number } {
  const p = {
    renewals: 0,
    start: async () => undefined,
    current: () => undefined,
    onChange: () => undefined,
    status: (): CertificateStatus => ({ source: renews ? 'ca' : 'files', names: [] }),
    stop: () => undefined,
    ...(renews ? { renew: async () => void p.renewals++ } : {}),
  };
  return p;
}

test('a second manual renewal within the interval is refused with the seconds left; after it, allowed', () => {
  let now = 1_000_000;
  const p = provider();
  const renewals = new ManualRenewal(p, 300_000, () => now);
  assert.deepEqual(renewals.request(), { started: true });
  now += 1500;
  const refused = renewals.request();
  assert.equal(refused.started, false);
  assert.ok(!refused.started && refused.reason === 'throttled');
  assert.equal(refused.retryAfterSeconds, 299);
  assert.match(refused.message, /^a renewal was asked for 1 s ago; the next one is allowed in 299 s \(tls\.manualRenewalIntervalSeconds: 300\)$/);
  assert.equal(p.renewals, 1, 'the refused request ordered nothing');
  now += 298_500;
  assert.deepEqual(renewals.request(), { started: true });
  assert.equal(p.renewals, 2);
});

test('interval 0 means no limit; a provider that cannot renew says so', () => {
  const p = provider();
  const renewals = new ManualRenewal(p, 0);
  assert.ok(renewals.request().started && renewals.request().started);
  assert.equal(p.renewals, 2);
  const files = new ManualRenewal(provider(false), 300_000).request();
  assert.ok(!files.started && files.reason === 'unsupported');
  assert.match(files.message, /certificates from files are not renewed by minato/);
});

test('a renewal is due without a certificate, after a failure, or past its time', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  assert.equal(isRenewalDue({}, now), true);
  assert.equal(isRenewalDue({ notAfter: '2030-02-01T00:00:00Z', nextRenewal: '2030-01-20T00:00:00Z' }, now), false);
  assert.equal(isRenewalDue({ notAfter: '2030-02-01T00:00:00Z', nextRenewal: '2029-12-31T00:00:00Z' }, now), true);
  assert.equal(isRenewalDue({ notAfter: '2030-02-01T00:00:00Z', nextRenewal: '2030-01-20T00:00:00Z', lastError: { message: 'x', at: '' } }, now), true);
});

test('cert status shows the time left in days, hours or minutes, whichever fits', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();
  assert.equal(timeLeft(at(89.94 * 86_400_000), now), '89.9 days left');
  assert.equal(timeLeft(at(5.25 * 3_600_000), now), '5.3 hours left');
  assert.equal(timeLeft(at(40 * 60_000 + 30_000), now), '40 minutes left');
  assert.equal(timeLeft(at(60_000), now), '1 minute left');
  assert.equal(timeLeft(at(-3 * 3_600_000), now), 'EXPIRED 3.0 hours ago');
  assert.equal(timeLeft(at(-2.5 * 86_400_000), now), 'EXPIRED 2.5 days ago');
});
