// The vulnerability gate through a whole registry: a project with Harbor's prevent_vul and
// severity refuses the pull of an image whose report has a High CVE (DENIED naming it), serves it
// once the system allowlist holds the CVE and again refuses once the list has expired; a project
// with its own allowlist (reuse_sys_cve_allowlist "false") follows that one; the allowlists'
// validation and who may change them; an index is served while its unscanned child is not; a
// signature of the image is served; warn serves and records an audit entry. The reports come from
// a small in-memory ScanSummaries (the contract the scan reports' owner implements).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertOciError, client, request } from '../helpers/http.js';
import { pushImage, pushIndex, sha256 } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { summarize, type Finding, type ScanSummary, type Severity } from '../../src/scan/inventory.js';

let reg: TestRegistry;
const reports = new Map<string, ScanSummary>();
const M = { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };

function setReport(digest: string, cves: Array<[string, Severity]>): void {
  const findings: Finding[] = cves.map(([id, severity]) => ({ id, aliases: [], package: 'openssl', version: '3.0.0', severity, links: [], layerDigest: digest }));
  reports.set(digest, { digest, status: 'Success', ...summarize(findings), scanner: { name: 'test', vendor: 'minato', version: '1' }, startTime: new Date().toISOString() });
  reg.scanPolicy.gate.reportChanged(digest);
}

const api = (path: string, method = 'GET', json?: unknown, authorization = reg.basic) =>
  request(`${reg.url}/api/v2.0${path}`, { method, headers: { Authorization: authorization, ...(json ? { 'Content-Type': 'application/json' } : {}) }, body: json ? JSON.stringify(json) : undefined });

before(async () => {
  reg = await startTestRegistry({}, { scan: { summaries: { get: async (d) => reports.get(d) } } });
});
after(() => reg.close());

test('prevent_vul + severity high: a High CVE blocks with DENIED; the system allowlist lets it through until it expires', async () => {
  const image = await pushImage(reg.url, reg.basic, 'team/app', 'v1');
  const pull = client(reg.url, reg.basic);
  assert.equal((await pull('/v2/team/app/manifests/v1', { headers: M })).status, 200, 'served while the project does not prevent');
  assert.equal((await api('/projects/team', 'PUT', { metadata: { prevent_vul: 'true', severity: 'high' } })).status, 200);

  setReport(image.digest, [['CVE-2024-1111', 'High'], ['CVE-2024-2222', 'Medium']]);
  const refused = await pull('/v2/team/app/manifests/v1', { headers: M });
  assertOciError(refused, 403, 'DENIED');
  const message = refused.json().errors[0].message as string;
  assert.match(message, /CVE-2024-1111/);
  assert.match(message, /severity High/);
  assert.match(message, /allowlist/);
  assert.doesNotMatch(message, /CVE-2024-2222/);
  assert.equal((await pull(`/v2/team/app/manifests/${image.digest}`, { method: 'HEAD', headers: M })).status, 403, 'a HEAD by digest too');

  setReport(image.digest, [['CVE-2024-2222', 'Medium']]);
  assert.equal((await pull('/v2/team/app/manifests/v1', { headers: M })).status, 200, 'Medium is below the High threshold');
  setReport(image.digest, [['CVE-2024-1111', 'High'], ['CVE-2024-2222', 'Medium']]);

  assert.equal((await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-2024-1111' }] })).status, 200);
  assert.equal((await pull('/v2/team/app/manifests/v1', { headers: M })).status, 200, 'allowlisted');
  assert.deepEqual((await api('/system/CVEAllowlist')).json().items, [{ cve_id: 'CVE-2024-1111' }]);

  const expired = Math.floor(Date.now() / 1000) - 10;
  assert.equal((await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-2024-1111' }], expires_at: expired })).status, 200);
  assertOciError(await pull('/v2/team/app/manifests/v1', { headers: M }), 403, 'DENIED', 'an expired allowlist is ignored');
});

test("a project's own allowlist applies when reuse_sys_cve_allowlist is false", async () => {
  const image = await pushImage(reg.url, reg.basic, 'own/app', 'v1');
  setReport(image.digest, [['CVE-2023-0001', 'Critical']]);
  await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-2023-0001' }] });
  assert.equal((await api('/projects/own', 'PUT', { metadata: { prevent_vul: 'true', severity: 'critical', reuse_sys_cve_allowlist: 'false' } })).status, 200);
  const pull = client(reg.url, reg.basic);
  assertOciError(await pull('/v2/own/app/manifests/v1', { headers: M }), 403, 'DENIED', 'the system list does not apply');
  assert.equal((await api('/projects/own', 'PUT', { cve_allowlist: { items: [{ cve_id: 'CVE-2023-0001' }] } })).status, 200);
  assert.equal((await pull('/v2/own/app/manifests/v1', { headers: M })).status, 200);
  assert.deepEqual((await api('/projects/own')).json().cve_allowlist.items, [{ cve_id: 'CVE-2023-0001' }]);
  await api('/system/CVEAllowlist', 'PUT', { items: [] });
});

test("allowlists: Harbor's validation (400) and only a system admin changes the system list", async () => {
  const dup = await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-1' }, { cve_id: 'CVE-1' }] });
  assert.equal(dup.status, 400, dup.text);
  assert.match(dup.text, /twice/);
  assert.equal((await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: ' CVE-2' }] })).status, 400);
  assert.equal((await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: '' }] })).status, 400);
  assert.equal((await api('/projects/team', 'PUT', { cve_allowlist: { items: [{ cve_id: 'a b' }] } })).status, 400);
  assert.equal((await api('/users', 'POST', { username: 'dev', password: 'Dev-pass-123', email: 'dev@example.com', realname: 'Dev' })).status, 201);
  const dev = `Basic ${Buffer.from('dev:Dev-pass-123').toString('base64')}`;
  assert.equal((await api('/system/CVEAllowlist', 'GET', undefined, dev)).status, 200, 'a signed-in user reads it');
  assert.equal((await api('/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-9' }] }, dev)).status, 403);
  assert.equal((await request(`${reg.url}/api/v2.0/system/CVEAllowlist`)).status, 401);
});

test('an index is not gated (its children are); a signature of a blocked image is served', async () => {
  await api('/projects', 'POST', { project_name: 'multi', metadata: { prevent_vul: 'true', severity: 'low' } });
  const index = await pushIndex(reg.url, reg.basic, 'multi/app', 'v1');
  const pull = client(reg.url, reg.basic);
  assert.equal((await pull('/v2/multi/app/manifests/v1', { headers: M })).status, 200, 'the index is served');
  const child = await pull(`/v2/multi/app/manifests/${index.children[0]}`, { headers: M });
  assertOciError(child, 403, 'DENIED', 'an unscanned child is refused (scanGate.unscanned: deny)');
  assert.match(child.json().errors[0].message, /has not been scanned/);

  const subject = index.children[0]!;
  const empty = Buffer.from('{}');
  const bundle = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
  for (const blob of [empty, bundle]) await pull(`/v2/multi/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: blob });
  const sig = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: sha256(bundle), size: bundle.length }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 1 },
    }),
  );
  const put = await pull(`/v2/multi/app/manifests/${sha256(sig)}`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: sig });
  assert.equal(put.status, 201, put.text);
  assert.equal((await pull(`/v2/multi/app/manifests/${sha256(sig)}`, { headers: M })).status, 200, 'the signature is served');
});

test('warn: served, and the audit log records the pull the policy would refuse', async () => {
  await api('/projects', 'POST', { project_name: 'warned', metadata: { prevent_vul: 'true', severity: 'medium', prevent_vul_level: 'warn' } });
  const image = await pushImage(reg.url, reg.basic, 'warned/app', 'v1');
  setReport(image.digest, [['CVE-2022-7777', 'Critical']]);
  assert.equal((await client(reg.url, reg.basic)('/v2/warned/app/manifests/v1', { headers: M })).status, 200);
  let found: unknown;
  for (let i = 0; i < 50 && !found; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const logs = (await api('/auditlog-exts?page_size=100')).json() as Array<{ operation_description?: string; description?: string; resource: string }>;
    found = logs.find((l) => JSON.stringify(l).includes('CVE-2022-7777'));
  }
  assert.ok(found, 'an audit entry names the CVE');
});
