// A project whose scanner is a registered Harbor adapter: a scan asked through Harbor's API runs
// on that adapter (the spec-faithful fake, which really pulls the manifest with the pull-only
// robot the registry issued for the scan), its findings become the artifact's report, and the
// robot is gone afterwards; another project keeps the built-in scanner.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { waitFor } from '../helpers/ports.js';
import { startFakeScannerAdapter, type FakeScannerAdapter } from '../helpers/fake-scanner-adapter.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
let adapter: FakeScannerAdapter;
let image: { digest: string };
const CVE = { id: 'CVE-2024-6387', package: 'openssh-server', version: '1:9.2p1-2', fix_version: '1:9.2p1-2+deb12u3', severity: 'Critical' as const };
const api = (path: string, method = 'GET', json?: unknown) =>
  request(`${reg.url}/api/v2.0${path}`, { method, headers: { Authorization: reg.basic, ...(json ? { 'Content-Type': 'application/json' } : {}) }, body: json ? JSON.stringify(json) : undefined });

before(async () => {
  reg = await startTestRegistry();
  image = await pushImage(reg.url, reg.basic, 'viaadapter/app', 'v1');
  await pushImage(reg.url, reg.basic, 'builtin/app', 'v1');
  adapter = await startFakeScannerAdapter({ vulnerabilities: { [image.digest]: [CVE] }, pendingPolls: 1, refreshAfter: 1 });
});
after(async () => {
  await adapter?.close();
  await reg?.close();
});

test("a scan runs on the project's registered adapter; its report is the artifact's; the scan's robot is deleted", async () => {
  const created = await api('/scanners', 'POST', { name: 'trivy', url: adapter.url });
  assert.equal(created.status, 201, created.text);
  const uuid = String(created.headers.location).split('/').pop()!;
  assert.equal((await api('/projects/viaadapter/scanner', 'PUT', { uuid })).status, 200);

  assert.equal((await api('/projects/viaadapter/repositories/app/artifacts/v1/scan', 'POST')).status, 202);
  const report = await waitFor(async () => {
    const res = await api('/projects/viaadapter/repositories/app/artifacts/v1/additions/vulnerabilities');
    const byType = res.json() as Record<string, { vulnerabilities?: Array<{ id: string; severity: string; fix_version?: string }> }>;
    const r = Object.values(byType)[0];
    return r?.vulnerabilities?.length ? r : undefined;
  }, 20_000, "the adapter's report");
  assert.deepEqual(report.vulnerabilities!.map((v) => [v.id, v.severity, v.fix_version]), [[CVE.id, 'Critical', CVE.fix_version]]);
  // The adapter pulled the manifest itself, with a credential that worked, once.
  assert.equal(adapter.scans.length, 1);
  assert.equal(adapter.scans[0]!.pullStatus, 200);
  assert.equal(adapter.scans[0]!.request.artifact?.digest, image.digest);
  // The per-scan robot is gone.
  const robots = (await api('/robots?page_size=100')).json() as Array<{ name: string }>;
  assert.deepEqual(robots.filter((r) => r.name.includes('minato-scanner-')), []);

  // The other project still scans with the built-in scanner: the adapter sees no request for it.
  assert.equal((await api('/projects/builtin/repositories/app/artifacts/v1/scan', 'POST')).status, 202);
  await waitFor(async () => {
    const res = await api('/projects/builtin/repositories/app/artifacts/v1?with_scan_overview=true');
    const overview = Object.values((res.json() as { scan_overview?: Record<string, { scan_status: string }> }).scan_overview ?? {})[0];
    return overview && overview.scan_status !== 'Pending' && overview.scan_status !== 'Running' ? true : undefined;
  }, 20_000, 'the built-in scan to end');
  assert.equal(adapter.scans.length, 1);
});
