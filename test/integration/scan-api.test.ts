// Vulnerability scanning end to end on an in-process registry: an image whose layer holds a dpkg
// status file is pushed to a project with auto_scan, scanned on push against data imported with
// `minato vulndb import` (the CLI, on the running server's database), and its report read as
// Harbor's vulnerabilities addition and scan_overview; on-demand scans (202) and stops; re-matching
// after a new import uses the stored inventory with the layers deleted from storage; the scan-all
// schedule and a manual scan-all run; the scan permissions. Every response is checked against the
// OpenAPI document.
//
// The layer reader here is the test's (tar on the real layer, then the dpkg status parsed): the
// package analyzer of scan/inventory-of.ts is composed in its place by the server's wiring.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import type { InventoryOfImage } from '../../src/scan/builtin-scanner.js';
import { parseDigest } from '../../src/oci/names.js';
import { dpkgStatusInventory } from '../helpers/dpkg-status.js';
import { request } from '../helpers/http.js';
import { imageManifest, pushIndex, sha256 } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiCallOptions } from '../helpers/openapi.js';
import { runOk } from '../helpers/peers.js';
import { CLI, ROOT, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/scan');
const REPORT = 'application/vnd.security.vulnerability.report; version=1.1';

const STATUS = [
  ['libc6', '2.36-9+deb12u1', 'glibc'],
  ['libssl3', '3.0.11-1~deb12u1', 'openssl'],
  ['openssl', '3.0.11-1~deb12u1', undefined],
  ['zlib1g', '1:1.2.13.dfsg-1', 'zlib'],
  ['bash', '5.2.15-2+b2', undefined],
]
  .map(([name, version, source]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nDescription: ${name}\n`)
  .join('\n');

/** The test's layer reader: extracts the dpkg status and os-release of the image's last layer with tar. */
function tarInventory(workDir: string): InventoryOfImage {
  return async (blobs, manifestBytes) => {
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as { layers: Array<{ digest: string }> };
    const layer = manifest.layers[manifest.layers.length - 1]!;
    const dir = path.join(workDir, layer.digest.replace(':', '-'));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'layer.tgz'), await buffer(await blobs.open(parseDigest(layer.digest))));
    await runOk('tar', ['-xzf', path.join(dir, 'layer.tgz'), '-C', dir, 'var/lib/dpkg/status', 'etc/os-release']);
    const versionId = /^VERSION_ID="?(\d+)/m.exec(await readFile(path.join(dir, 'etc/os-release'), 'utf8'))?.[1] ?? '';
    return dpkgStatusInventory(await readFile(path.join(dir, 'var/lib/dpkg/status'), 'utf8'), { versionId, layerDigest: layer.digest });
  };
}

async function layerWithStatus(dir: string, status: string): Promise<Buffer> {
  const root = path.join(dir, `rootfs-${Date.now()}`);
  await mkdir(path.join(root, 'var/lib/dpkg'), { recursive: true });
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(path.join(root, 'var/lib/dpkg/status'), status);
  await writeFile(path.join(root, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  const tar = path.join(dir, 'layer.tar');
  await runOk('tar', ['-cf', tar, '-C', root, 'etc', 'var']);
  return gzipSync(await readFile(tar));
}

async function push(base: string, authorization: string, repository: string, tag: string, layer: Buffer): Promise<string> {
  // The repository in the config: each image has its own digest (reports are per digest).
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { repository } }, rootfs: { type: 'layers', diff_ids: [] } }));
  for (const blob of [config, layer]) {
    const res = await request(`${base}/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' }, body: blob });
    assert.equal(res.status, 201, res.text);
  }
  const manifest = imageManifest(config, [layer]);
  const res = await request(`${base}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: authorization, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  assert.equal(res.status, 201, res.text);
  return sha256(manifest);
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Api = (method: string, path: string, opts?: ApiCallOptions) => ReturnType<typeof request>;

/** A client of /api/v2.0 whose every response is checked against the OpenAPI document. */
async function apiAs(base: string, authorization?: string): Promise<Api> {
  const call = await apiClient(base, authorization ? { headers: { Authorization: authorization } } : {});
  return (method, p, opts) => call(method, `/api/v2.0${p}`, opts);
}

interface Vuln {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  vendor_attributes: { aliases: string[]; layer_digest: string };
}

describe('vulnerability scanning through the API', () => {
  let reg: TestRegistry;
  let api: Api;
  let work: string;
  let layer: Buffer;
  let digest: string;

  const cli = (...args: string[]) => runOk(process.execPath, [CLI, ...args, '--data', reg.dataDir]);
  const overview = async (repo: string, ref: string) => {
    const res = await api('GET', `/projects/${repo.split('/')[0]}/repositories/${repo.split('/')[1]}/artifacts/${ref}?with_scan_overview=true`);
    assert.equal(res.status, 200, res.text);
    return (res.json() as { scan_overview?: Record<string, { scan_status: string; severity: string; report_id: string; summary?: { total: number; fixable: number; summary: Record<string, number> } }> }).scan_overview?.[REPORT];
  };
  const finished = (repo: string, ref: string) =>
    eventually(`scan of ${repo}:${ref}`, async () => {
      const o = await overview(repo, ref);
      return o && o.scan_status !== 'Pending' && o.scan_status !== 'Running' ? o : undefined;
    });
  const vulnerabilities = async (repo: string, ref: string) => {
    const res = await api('GET', `/projects/${repo.split('/')[0]}/repositories/${repo.split('/')[1]}/artifacts/${ref}/additions/vulnerabilities`);
    assert.equal(res.status, 200, res.text);
    return (res.json() as Record<string, { vulnerabilities: Vuln[]; severity: string; scanner: { name: string } }>)[REPORT];
  };

  before(async () => {
    work = await tempDir('minato-scan-');
    reg = await startTestRegistry({ projects: { autoCreate: false } }, { inventoryOf: tarInventory(work) });
    api = await apiAs(reg.url, reg.basic);
    await reg.projects.create({ name: 'auto', metadata: { auto_scan: 'true' } }, { user: null }, SYSTEM_ACTOR);
    await reg.projects.create({ name: 'manual' }, { user: null }, SYSTEM_ACTOR);
    layer = await layerWithStatus(work, STATUS);
    const imported = await cli('vulndb', 'import', path.join(FIXTURES, 'osv'));
    assert.match(imported.stdout, /4 new, 0 updated, 0 unchanged, 0 rejected/);
  });
  after(async () => {
    await reg?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('an image pushed to an auto_scan project is scanned on push; its report is Harbor\'s', async (t) => {
    digest = await push(reg.url, reg.basic, 'auto/app', 'v1', layer);
    const t0 = Date.now();
    const o = await finished('auto/app', 'v1');
    t.diagnostic(`scan on push: ${Date.now() - t0} ms from the push`);
    assert.equal(o.scan_status, 'Success');
    assert.equal(o.severity, 'Critical');
    const report = await vulnerabilities('auto/app', 'v1');
    assert.equal(report?.scanner.name, 'minato');
    const rows = report!.vulnerabilities.map((v) => [v.id, v.package, v.version, v.fix_version, v.severity]).sort();
    assert.deepEqual(rows, [
      ['CVE-2023-45853', 'zlib1g', '1:1.2.13.dfsg-1', '', 'Critical'],
      ['CVE-2023-4911', 'libc6', '2.36-9+deb12u1', '2.36-9+deb12u3', 'High'],
      ['CVE-2023-5363', 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'High'],
      ['CVE-2023-5363', 'openssl', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'High'],
    ]);
    assert.deepEqual(o.summary, { total: 4, fixable: 3, summary: { Critical: 1, High: 3 } });
    assert.equal(report!.vulnerabilities[0]!.vendor_attributes.layer_digest, sha256(layer));
    // The list carries it too.
    const list = await api('GET', '/projects/auto/repositories/app/artifacts?with_scan_overview=true');
    assert.equal((list.json() as Array<{ scan_overview?: Record<string, { report_id: string }> }>)[0]?.scan_overview?.[REPORT]?.report_id, o.report_id);
    // Without the flag there is none, as in Harbor.
    const plain = await api('GET', '/projects/auto/repositories/app/artifacts/v1');
    assert.equal((plain.json() as { scan_overview?: unknown }).scan_overview, undefined);
    const log = await api('GET', `/projects/auto/repositories/app/artifacts/v1/scan/${o.report_id}/log`);
    assert.match(log.text, /Success: 4 vulnerabilities, 3 fixable/);
  });

  test('a new import re-matches the stored inventory: the report changes with the layers gone from storage', async (t) => {
    // Delete the layer's bytes from storage: a scan that read layers now would fail.
    const hex = sha256(layer).slice('sha256:'.length);
    const removed: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.includes(hex) || p.includes(hex)) {
          await rm(p, { force: true });
          removed.push(p);
        }
      }
    };
    await walk(reg.dataDir);
    assert.ok(removed.length > 0, 'the layer blob was found in storage and removed');
    const gone = await request(`${reg.url}/v2/auto/app/blobs/${sha256(layer)}`, { headers: { Authorization: reg.basic } });
    assert.notEqual(gone.status, 200);

    // A record constructed for this test (not a published advisory): bash in bookworm, fixed in a later revision.
    const record = {
      schema_version: '1.6.0',
      id: 'DEBIAN-CVE-2026-0001',
      modified: '2026-11-30T00:00:00Z',
      upstream: ['CVE-2026-0001'],
      details: 'A constructed advisory for the re-match test.',
      affected: [{ package: { ecosystem: 'Debian:12', name: 'bash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.2.15-2+b3' }] }], ecosystem_specific: { urgency: 'low' } }],
    };
    const file = path.join(work, 'bash.json');
    await writeFile(file, JSON.stringify(record));
    const before = (await overview('auto/app', 'v1'))!;
    const t0 = Date.now();
    const out = await cli('vulndb', 'import', file);
    t.diagnostic(`minato vulndb import of one record with a re-match: ${Date.now() - t0} ms`);
    assert.match(out.stdout, /1 new/);
    assert.match(out.stdout, /re-matched 1 scanned images: 1 reports changed/);
    const report = await vulnerabilities('auto/app', 'v1');
    const bash = report!.vulnerabilities.find((v) => v.package === 'bash');
    assert.deepEqual(bash && [bash.id, bash.version, bash.fix_version, bash.severity], ['CVE-2026-0001', '5.2.15-2+b2', '5.2.15-2+b3', 'Low']);
    // The same report (re-matched, not re-scanned); the gate's summary follows within its cache time.
    const now = (await overview('auto/app', 'v1'))!;
    assert.equal(now.report_id, before.report_id);
    assert.equal(now.summary?.total, 5);
    // Re-importing the same file changes nothing.
    assert.match((await cli('vulndb', 'import', file)).stdout, /0 new, 0 updated, 1 unchanged[\s\S]*re-matched 0 scanned images/);
    const status = await cli('vulndb', 'status', '--json');
    assert.deepEqual((JSON.parse(status.stdout) as { sources: Array<{ source: string; records: number }> }).sources.map((s) => [s.source, s.records]), [['osv', 5]]);
    // A scan asked for now reads the layers, which are gone: the report says why.
    const res = await api('POST', '/projects/auto/repositories/app/artifacts/v1/scan');
    assert.equal(res.status, 202, res.text);
    const failed = await finished('auto/app', 'v1');
    assert.equal(failed.scan_status, 'Error');
  });

  test('on demand: an image of a project without auto_scan is scanned when asked (202); an index is refused', async () => {
    const other = await push(reg.url, reg.basic, 'manual/app', 'v1', layer);
    assert.notEqual(other, undefined);
    // Let an auto-scan (if one were wrongly queued) have its chance.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await overview('manual/app', 'v1'), undefined);
    assert.deepEqual(await api('GET', '/projects/manual/repositories/app/artifacts/v1/additions/vulnerabilities').then((r) => r.json()), {});
    const res = await api('POST', '/projects/manual/repositories/app/artifacts/v1/scan', { json: { scan_type: 'vulnerability' } });
    assert.equal(res.status, 202, res.text);
    const o = await finished('manual/app', 'v1');
    assert.equal(o.scan_status, 'Success');
    assert.equal(o.summary?.total, 5);

    const index = await pushIndex(reg.url, reg.basic, 'manual/multi', 'v1');
    assertApiError(await api('POST', '/projects/manual/repositories/multi/artifacts/v1/scan'), 400, 'BAD_REQUEST');
    assert.ok(index.children.length > 0);
    assertApiError(await api('POST', '/projects/manual/repositories/app/artifacts/v1/scan/stop'), 400, 'BAD_REQUEST');
    assertApiError(await api('POST', '/projects/manual/repositories/app/artifacts/nope/scan'), 404, 'NOT_FOUND');
    assertApiError(await api('POST', '/projects/manual/repositories/app/artifacts/v1/scan', { json: { scan_type: 'bogus' } }), 400, 'BAD_REQUEST');
  });

  test('scan-all: a schedule is kept, a manual run goes through every image', async () => {
    assert.deepEqual((await api('GET', '/system/scanAll/schedule')).json(), { schedule: { type: 'None' } });
    assert.equal((await api('PUT', '/system/scanAll/schedule', { json: { schedule: { type: 'Daily' } } })).status, 200);
    const s = (await api('GET', '/system/scanAll/schedule')).json() as { schedule: { type: string; next_scheduled_time?: string } };
    assert.equal(s.schedule.type, 'Daily');
    assert.ok(s.schedule.next_scheduled_time && Date.parse(s.schedule.next_scheduled_time) > Date.now());
    assertApiError(await api('PUT', '/system/scanAll/schedule', { json: { schedule: { type: 'Custom', cron: 'not a cron' } } }), 400, 'BAD_REQUEST');
    const started = await api('POST', '/system/scanAll/schedule', { json: { schedule: { type: 'Manual' } } });
    assert.equal(started.status, 201, started.text);
    const metrics = await eventually('scan-all run', async () => {
      const m = (await api('GET', '/scans/all/metrics')).json() as { ongoing: boolean; total: number; metrics: Record<string, number>; trigger?: string };
      return m.ongoing || m.total === 0 ? undefined : m;
    });
    // auto/app (its last scan failed: scanned again, its layer is back since manual/app pushed the
    // same one), manual/app (re-matched), and the index's two platform images (their layers hold
    // no dpkg status: Error).
    assert.equal(metrics.total, 4);
    assert.equal(metrics.trigger, 'Manual');
    assert.deepEqual(metrics.metrics, { Success: 2, Error: 2 });
    assert.equal((await overview('auto/app', 'v1'))?.scan_status, 'Success');
  });

  test('permissions: scanning needs the scan resource; scan-all is a system administrator\'s', async () => {
    await reg.users!.setPassword('guest', 'Passw0rd-for-tests');
    await reg.projects.addMember(await reg.projects.project('manual'), 'guest', 3, SYSTEM_ACTOR);
    const guest = await apiAs(reg.url, `Basic ${Buffer.from('guest:Passw0rd-for-tests').toString('base64')}`);
    assertApiError(await guest('POST', '/projects/manual/repositories/app/artifacts/v1/scan'), 403, 'FORBIDDEN');
    assert.equal((await guest('GET', '/projects/manual/repositories/app/artifacts/v1/additions/vulnerabilities')).status, 200);
    assertApiError(await guest('GET', '/system/scanAll/schedule'), 403, 'FORBIDDEN');
    const anonymous = await apiAs(reg.url);
    assertApiError(await anonymous('POST', '/projects/manual/repositories/app/artifacts/v1/scan'), 401, 'UNAUTHORIZED');
  });
});

