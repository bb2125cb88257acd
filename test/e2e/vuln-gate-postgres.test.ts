// The vulnerability gate on PostgreSQL with two replicas sharing one database: migration 0013 and
// the allowlist store on PostgreSQL, and every replica's gate following a change made on another
// (the system allowlist, a project's settings) through the outbox, within the event poll.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { summarize, type ScanSummary } from '../../src/scan/inventory.js';
import { rm } from 'node:fs/promises';

let pg: RunningPostgres;
let a: TestRegistry;
let b: TestRegistry;
let data: string;
// Both replicas share the admin: the second start sets its password, so requests use b.basic.
const reports = new Map<string, ScanSummary>();

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  data = await tempDir();
  const scan = { summaries: { get: async (d: string) => reports.get(d) } };
  a = await startTestRegistry({ data, database: { driver: 'postgres', url } }, { scan });
  b = await startTestRegistry({ data, database: { driver: 'postgres', url } }, { scan });
});
after(async () => {
  await b?.close();
  await a?.close();
  await pg?.stop();
  await rm(data, { recursive: true, force: true });
});

const pull = (reg: TestRegistry) => request(`${reg.url}/v2/fleet/app/manifests/v1`, { headers: { Authorization: b.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } }).then((r) => r.status);
const api = (reg: TestRegistry, path: string, method: string, json: unknown) =>
  request(`${reg.url}/api/v2.0${path}`, { method, headers: { Authorization: b.basic, 'Content-Type': 'application/json' }, body: JSON.stringify(json) });

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within 5 s: ${what}`);
}

test('a change on one replica reaches the gate of the other', async () => {
  const image = await pushImage(a.url, b.basic, 'fleet/app', 'v1');
  const findings = [{ id: 'CVE-2024-4444', aliases: [], package: 'glibc', version: '2.36', severity: 'High' as const, links: [], layerDigest: image.digest }];
  reports.set(image.digest, { digest: image.digest, status: 'Success', ...summarize(findings), scanner: { name: 't', vendor: 't', version: '1' }, startTime: new Date().toISOString() });
  for (const r of [a, b]) r.scanPolicy.gate.reportChanged(image.digest);

  assert.equal((await api(a, '/projects/fleet', 'PUT', { metadata: { prevent_vul: 'true', severity: 'high' } })).status, 200);
  assert.equal(await pull(a), 403);
  await eventually('replica B applies the project setting', async () => (await pull(b)) === 403);

  assert.equal((await api(a, '/system/CVEAllowlist', 'PUT', { items: [{ cve_id: 'CVE-2024-4444' }] })).status, 200);
  assert.equal(await pull(a), 200, 'at once where it was changed');
  await eventually('replica B applies the allowlist', async () => (await pull(b)) === 200);

  assert.equal((await api(b, '/system/CVEAllowlist', 'PUT', { items: [] })).status, 200);
  await eventually('replica A applies the change B made', async () => (await pull(a)) === 403);
});
