// The vulnerability gate (policy/vulnerability.ts) on small in-memory implementations of its
// contracts (ScanSummaries, GatePolicySource): Harbor's order of checks, the threshold boundary
// (High blocks at High, not at Medium), allowlists (and expired ones), the levels enforce, warn
// and audit, the unscanned actions allow, deny and scan-first (and its timeout), indexes and
// signatures skipped, the scanner's own pulls, and the cache: a decided pull is answered without
// a promise, and a new report or a policy change makes it decide again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { gateSettings, parseThreshold, VulnerabilityGate, type GateNotice, type GateSettings } from '../../src/policy/vulnerability.js';
import type { Caller, PointContexts, Verdict } from '../../src/policy/policy.js';
import { summarize, type Finding, type ScanSummary, type Severity } from '../../src/scan/inventory.js';

const user: Caller = { actor: { kind: 'user', name: 'alice' }, grant: { principal: { user: 'alice' } } };
const scanner: Caller = { actor: { kind: 'user', name: 'robot$team+scanner-1' }, grant: { principal: { user: 'robot$team+scanner-1', robot: true } } };
const D = `sha256:${'a'.repeat(64)}`;
const pull = (extra: Partial<PointContexts['pull']> = {}): PointContexts['pull'] => ({ repository: 'team/app', digest: D, kind: 'manifest', mediaType: 'application/vnd.oci.image.manifest.v1+json', ...extra });

function finding(id: string, severity: Severity): Finding {
  return { id, aliases: [], package: 'openssl', version: '3.0.0', severity, links: [], layerDigest: D };
}

function report(findings: Finding[], status: ScanSummary['status'] = 'Success'): ScanSummary {
  return { digest: D, status, ...summarize(findings), scanner: { name: 'test', vendor: 'minato', version: '1' }, startTime: new Date().toISOString() };
}

function setup(settings: Partial<GateSettings> = {}, opts: { scanNow?: (signal: AbortSignal) => Promise<ScanSummary | undefined>; timeoutMs?: number } = {}) {
  const reports = new Map<string, ScanSummary>();
  const allow = { ids: new Set<string>() as ReadonlySet<string>, until: undefined as number | undefined };
  const notices: GateNotice[] = [];
  let reads = 0;
  const current: GateSettings = { enabled: true, threshold: 'High', level: 'enforce', unscanned: 'deny', ...settings };
  const gate = new VulnerabilityGate({
    summaries: { get: async (d) => (reads++, reports.get(d)) },
    policy: { settings: (p) => (p === 'team' ? current : undefined), allowed: () => allow },
    scanNow: opts.scanNow
      ? async (_t, signal) => {
          const r = await opts.scanNow!(signal);
          if (r) reports.set(D, r);
        }
      : undefined,
    isScanner: (c) => c.grant?.principal.user === 'robot$team+scanner-1',
    notice: (n) => notices.push(n),
    scanFirstTimeoutMs: opts.timeoutMs ?? 2000,
    unscannedTtlMs: 10_000,
    reportTtlMs: 60_000,
    maxEntries: 100,
    log: pino({ level: 'silent' }),
  });
  return { gate, reports, allow, notices, current, reads: () => reads };
}

async function decide(gate: VulnerabilityGate, caller: Caller = user, c = pull()): Promise<Verdict> {
  return gate.decider.decide(caller, c);
}

test('High blocks at threshold High, with DENIED naming the policy, the severity, the CVEs and the allowlist', async () => {
  const { gate, reports, notices } = setup({ threshold: 'High' });
  reports.set(D, report([finding('CVE-2024-0001', 'High'), finding('CVE-2024-0002', 'Medium')]));
  const v = await decide(gate);
  assert.equal(v.ok, false);
  assert.ok(!v.ok && v.code === 'DENIED');
  assert.ok(!v.ok && /prevent_vul/.test(v.message) && /severity High/.test(v.message) && /CVE-2024-0001/.test(v.message) && /allowlist/.test(v.message));
  assert.ok(!v.ok && !/CVE-2024-0002/.test(v.message), 'a CVE below the threshold is not named as blocking');
  assert.deepEqual(notices.map((n) => [n.outcome, n.severity, n.cves]), [['denied', 'High', ['CVE-2024-0001']]]);
});

test('Medium findings pass a High threshold; a Critical threshold lets High through; Unknown threshold blocks anything', async () => {
  const medium = setup({ threshold: 'High' });
  medium.reports.set(D, report([finding('CVE-1', 'Medium'), finding('CVE-2', 'Low')]));
  assert.deepEqual(await decide(medium.gate), { ok: true });
  const critical = setup({ threshold: 'Critical' });
  critical.reports.set(D, report([finding('CVE-1', 'High')]));
  assert.deepEqual(await decide(critical.gate), { ok: true });
  const any = setup({ threshold: parseThreshold('negligible') });
  any.reports.set(D, report([finding('CVE-1', 'Negligible')]));
  assert.equal((await decide(any.gate)).ok, false, 'negligible parses as the lowest threshold (Harbor)');
  const clean = setup({ threshold: 'Unknown' });
  clean.reports.set(D, report([]));
  assert.deepEqual(await decide(clean.gate), { ok: true }, 'a clean report passes any threshold');
});

test('allowlisted CVEs do not block; the rest still do; a decision with an expiring list expires with it', async () => {
  const { gate, reports, allow } = setup({ threshold: 'Medium' });
  reports.set(D, report([finding('CVE-A', 'Critical'), finding('CVE-B', 'Medium')]));
  allow.ids = new Set(['CVE-A']);
  const v = await decide(gate);
  assert.ok(!v.ok && /severity Medium/.test(v.message) && /CVE-B/.test(v.message) && !/CVE-A/.test(v.message), 'the highest remaining severity, not the allowlisted one');
  allow.ids = new Set(['CVE-A', 'CVE-B']);
  allow.until = Date.now() + 50;
  gate.policyChanged();
  assert.deepEqual(await decide(gate), { ok: true });
  // The source stops exempting at expiry; the cached allow must not outlive it.
  await new Promise((r) => setTimeout(r, 80));
  allow.ids = new Set();
  const after = gate.decider.decide(user, pull());
  assert.ok(after instanceof Promise, 'the cached decision expired with the allowlist');
  assert.equal((await after).ok, false);
});

test('levels: warn and audit serve and record; enforce refuses', async () => {
  for (const level of ['warn', 'audit'] as const) {
    const { gate, reports, notices } = setup({ level });
    reports.set(D, report([finding('CVE-X', 'Critical')]));
    assert.deepEqual(await decide(gate), { ok: true }, level);
    assert.deepEqual(notices.map((n) => [n.level, n.outcome, n.cves]), [[level, level === 'warn' ? 'warned' : 'audited', ['CVE-X']]]);
  }
});

test('unscanned: deny refuses saying how to scan, allow serves, a failed or running scan is not a report', async () => {
  const deny = setup({ unscanned: 'deny' });
  const v = await decide(deny.gate);
  assert.ok(!v.ok && v.code === 'DENIED' && /has not been scanned/.test(v.message) && /scan/.test(v.message));
  deny.reports.set(D, report([], 'Error'));
  deny.gate.reportChanged(D);
  const failed = await decide(deny.gate);
  assert.ok(!failed.ok && /could not be scanned/.test(failed.message));
  assert.deepEqual(await decide(setup({ unscanned: 'deny' }).gate, user, pull({ artifactType: 'application/vnd.cncf.helm.config.v1+json' })), { ok: true }, 'a Helm chart cannot be scanned: served');
  assert.equal((await decide(setup({ unscanned: 'deny' }).gate, user, pull({ artifactType: 'application/vnd.oci.image.config.v1+json' }))).ok, false, 'an image can');
  const allow = setup({ unscanned: 'allow' });
  assert.deepEqual(await decide(allow.gate), { ok: true });
  allow.reports.set(D, report([finding('CVE-1', 'Critical')]));
  allow.gate.reportChanged(D);
  assert.equal((await decide(allow.gate)).ok, false, 'the report that arrives is applied');
});

test('scan-first: scans, waits, decides on the report; one scan for concurrent pulls; a timeout denies', async () => {
  let scans = 0;
  const { gate } = setup({ unscanned: 'scan-first' }, { scanNow: async () => (scans++, await new Promise((r) => setTimeout(r, 30)), report([finding('CVE-9', 'Critical')])) });
  const [a, b] = await Promise.all([decide(gate), decide(gate)]);
  assert.ok(!a.ok && /CVE-9/.test(a.message) && !b.ok);
  assert.equal(scans, 1);
  const clean = setup({ unscanned: 'scan-first' }, { scanNow: async () => report([finding('CVE-1', 'Low')]) });
  assert.deepEqual(await decide(clean.gate), { ok: true });
  let aborted = false;
  const slow = setup({ unscanned: 'scan-first' }, {
    timeoutMs: 50,
    scanNow: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve(undefined)))),
  });
  const started = Date.now();
  const t = await decide(slow.gate);
  assert.ok(!t.ok && /has not been scanned/.test(t.message));
  assert.ok(Date.now() - started < 1000, 'bounded by the timeout');
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(aborted, 'the scan is told to stop');
});

test('not gated: prevent_vul off, other projects, blobs, indexes, signatures, the scanner', async () => {
  const { gate, reports } = setup();
  reports.set(D, report([finding('CVE-1', 'Critical')]));
  assert.deepEqual(gate.decider.decide(user, pull({ kind: 'blob' })), { ok: true });
  assert.deepEqual(gate.decider.decide(user, pull({ repository: 'other/app' })), { ok: true });
  assert.deepEqual(gate.decider.decide(user, pull({ mediaType: 'application/vnd.oci.image.index.v1+json' })), { ok: true }, 'index skipped');
  assert.deepEqual(gate.decider.decide(user, pull({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' })), { ok: true });
  assert.deepEqual(gate.decider.decide(user, pull({ artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })), { ok: true }, 'cosign v3 signature');
  assert.deepEqual(gate.decider.decide(user, pull({ artifactType: 'application/vnd.cncf.notary.signature' })), { ok: true }, 'notation signature');
  assert.deepEqual(gate.decider.decide(user, pull({ tag: `sha256-${'b'.repeat(64)}.sig` })), { ok: true }, 'legacy cosign tag');
  assert.deepEqual(gate.decider.decide(scanner, pull()), { ok: true }, "the scanner's own pull");
  const off = setup({ enabled: false });
  off.reports.set(D, report([finding('CVE-1', 'Critical')]));
  assert.deepEqual(off.gate.decider.decide(user, pull()), { ok: true });
});

test('cached: a decided pull costs no promise and no lookup, until a report or the policy changes', async () => {
  const { gate, reports, reads } = setup();
  reports.set(D, report([finding('CVE-1', 'Critical')]));
  assert.equal((await decide(gate)).ok, false);
  const cached = gate.decider.decide(user, pull());
  assert.ok(!(cached instanceof Promise) && !cached.ok, 'a sync verdict');
  assert.equal(reads(), 1);
  reports.set(D, report([finding('CVE-1', 'Low')]));
  gate.reportChanged(D);
  assert.deepEqual(await decide(gate), { ok: true }, 'the new report is read');
  reports.set(D, report([finding('CVE-2', 'High')]));
  gate.policyChanged();
  assert.equal((await decide(gate)).ok, false);
  assert.equal(reads(), 3);
});

test("project metadata: Harbor's keys and minato's, with defaults", () => {
  assert.deepEqual(gateSettings({ prevent_vul: 'true', severity: 'high' }, { unscanned: 'deny' }), { enabled: true, threshold: 'High', level: 'enforce', unscanned: 'deny' });
  assert.deepEqual(gateSettings({ prevent_vul: 'true', severity: 'critical', prevent_vul_level: 'warn', prevent_vul_unscanned: 'scan-first' }, { unscanned: 'deny' }), {
    enabled: true,
    threshold: 'Critical',
    level: 'warn',
    unscanned: 'scan-first',
  });
  assert.equal(gateSettings({ prevent_vul: 'false', severity: 'low' }, { unscanned: 'allow' }).enabled, false);
  assert.equal(gateSettings({ prevent_vul_level: 'bogus' }, { unscanned: 'allow' }).level, 'enforce', 'an unknown level is the strictest');
});
