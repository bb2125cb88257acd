// The Harbor scanner adapter client (scan/adapter/adapter-client.ts) against the recorded,
// spec-faithful fake (test/helpers/fake-scanner-adapter.ts) and a real registry: metadata read;
// a scan that is pending (302, with and without Refresh-After) then done, its report mapped to
// findings; the adapter really pulled the manifest with the pull-only robot it was given, which
// is deleted afterwards; a wrong credential fails the scan with the adapter's error; a scan that
// never finishes hits the timeout; the spec's 404 and 415. End to end with the gate: a project on
// scan-first pulls an unscanned image, the registry scans it through the adapter (the scanner's
// own pull is not gated), and the pull is refused for the Critical CVE the adapter found.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFakeScannerAdapter, type FakeScannerAdapter } from '../helpers/fake-scanner-adapter.js';
import { MIME, ScannerAdapterClient, type ScanCredentials } from '../../src/scan/adapter/adapter-client.js';
import { RobotScanCredentials } from '../../src/scan/adapter/scan-credentials.js';
import { summarize, type ScanSummary } from '../../src/scan/inventory.js';

let reg: TestRegistry;
let adapter: FakeScannerAdapter;
let image: { digest: string };
const reports = new Map<string, ScanSummary>();
const released: string[] = [];
const log = pino({ level: 'silent' });
const CVE = { id: 'CVE-2024-6387', package: 'openssh-server', version: '1:9.2p1-2', fix_version: '1:9.2p1-2+deb12u3', severity: 'Critical' as const, preferred_cvss: { score_v3: 8.1, vector_v3: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H' } };

const api = (path: string, method = 'GET', json?: unknown) =>
  request(`${reg.url}/api/v2.0${path}`, { method, headers: { Authorization: reg.basic, ...(json ? { 'Content-Type': 'application/json' } : {}) }, body: json ? JSON.stringify(json) : undefined });

/** The registry's own per-scan credentials (a pull-only project robot, deleted after); `wrongSecret` spoils the secret. */
function robotCredentials(opts: { wrongSecret?: boolean } = {}): ScanCredentials {
  const real = new RobotScanCredentials(reg.projects, log);
  return {
    async issue(repository) {
      const credential = await real.issue(repository);
      const [login, secret] = Buffer.from(credential.authorization.slice(6), 'base64').toString().split(':') as [string, string];
      return {
        authorization: opts.wrongSecret ? `Basic ${Buffer.from(`${login}:${secret}x`).toString('base64')}` : credential.authorization,
        async release() {
          await credential.release();
          released.push(login);
        },
      };
    },
  };
}

const client = (extra: { timeoutMs?: number; credentials?: ScanCredentials; url?: string } = {}) =>
  new ScannerAdapterClient({ registration: { name: 'trivy', url: extra.url ?? adapter.url }, registryUrl: reg.url, credentials: extra.credentials ?? robotCredentials(), timeoutMs: extra.timeoutMs ?? 10_000, pollMs: 50, log });

before(async () => {
  let scanner: ScannerAdapterClient | undefined;
  reg = await startTestRegistry(
    {},
    {
      scan: {
        summaries: { get: async (d) => reports.get(d) },
        // The registry's scan now: through the adapter; the report stored as the gate reads it.
        scanNow: async (target) => {
          const result = await scanner!.scan(target);
          reports.set(target.digest, { digest: target.digest, status: 'Success', ...summarize(result.findings), scanner: scanner!.info, startTime: new Date().toISOString() });
          reg.scanPolicy.gate.reportChanged(target.digest);
        },
      },
    },
  );
  image = await pushImage(reg.url, reg.basic, 'scanned/app', 'v1');
  adapter = await startFakeScannerAdapter({ vulnerabilities: { [image.digest]: [CVE] }, pendingPolls: 2, refreshAfter: 1 });
  scanner = client();
});
after(async () => {
  await adapter?.close();
  await reg?.close();
});

test('metadata, then a scan: pending (302 Refresh-After) -> done, mapped to findings; the adapter pulled with a pull-only robot, released after', async () => {
  const meta = await client().metadata();
  assert.equal(meta.scanner.name, 'Trivy');
  assert.ok(meta.capabilities[0]!.consumes_mime_types.includes('application/vnd.oci.image.manifest.v1+json'));

  const c = client();
  const fractions: number[] = [];
  const started = Date.now();
  const result = await c.scan({ repository: 'scanned/app', digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', tag: 'v1' }, (f) => fractions.push(f));
  assert.ok(Date.now() - started >= 1900, 'two 302s with Refresh-After: 1 were honoured');
  assert.deepEqual(result.findings, [
    { id: 'CVE-2024-6387', aliases: [], package: 'openssh-server', version: '1:9.2p1-2', fixVersion: '1:9.2p1-2+deb12u3', severity: 'Critical', links: [], layerDigest: image.digest, cvss: { scoreV3: 8.1, vectorV3: CVE.preferred_cvss.vector_v3 } },
  ]);
  assert.deepEqual(fractions.at(-1), 1);
  const last = adapter.scans.at(-1)!;
  assert.equal(last.pullStatus, 200, 'the adapter pulled the manifest from the registry');
  assert.equal(last.request.registry?.url, reg.url);
  assert.match(last.request.registry?.authorization ?? '', /^Basic /);
  const login = Buffer.from(last.request.registry!.authorization!.slice(6), 'base64').toString().split(':')[0]!;
  assert.match(login, /^robot\$scanned\+minato-scanner-[0-9a-f]{12}$/, 'a project robot, not the admin');
  assert.ok(released.includes(login), 'the robot is deleted after the scan');
  // The released credential no longer pulls.
  const again = await request(`${reg.url}/v2/scanned/app/manifests/${image.digest}`, { headers: { Authorization: last.request.registry!.authorization!, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(again.status, 401);
  // Nobody can make a robot that passes for the scanner's.
  const forged = await api('/robots', 'POST', { name: 'minato-scanner-aaaaaaaaaaaa', level: 'project', duration: 1, permissions: [{ kind: 'project', namespace: 'scanned', access: [{ resource: 'repository', action: 'pull' }] }] });
  assert.equal(forged.status, 400, forged.text);
  assert.match(forged.text, /reserved/);
});

test('a wrong credential fails the scan with the adapter\'s error; a scan that never ends times out', async () => {
  await assert.rejects(client({ credentials: robotCredentials({ wrongSecret: true }) }).scan({ repository: 'scanned/app', digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }), /refused the report of scan .*unexpected status code 401/);
  assert.equal(adapter.scans.at(-1)!.pullStatus, 401);

  const hanging = await startFakeScannerAdapter({ hang: true });
  try {
    const started = Date.now();
    await assert.rejects(client({ url: hanging.url, timeoutMs: 400 }).scan({ repository: 'scanned/app', digest: image.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }), /did not finish.* within 0.4 s/);
    assert.ok(Date.now() - started < 3000);
  } finally {
    await hanging.close();
  }
  await assert.rejects(client({ url: 'http://127.0.0.1:9' }).metadata(), /unreachable/);
});

test("the fake answers as the spec: 404 for an unknown id, 415 for an unknown Accept, 422 for a missing field, 400 for bad JSON", async () => {
  const unknown = await fetch(`${adapter.url}/api/v1/scan/nope/report`, { headers: { Accept: MIME.harborReport } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get('content-type'), MIME.error);
  assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /cannot find scan job/);
  assert.equal((await fetch(`${adapter.url}/api/v1/scan/nope/report`, { headers: { Accept: 'text/plain' } })).status, 415);
  assert.equal((await fetch(`${adapter.url}/api/v1/scan`, { method: 'POST', body: JSON.stringify({ artifact: { repository: 'a', digest: 'sha256:1' } }) })).status, 422);
  assert.equal((await fetch(`${adapter.url}/api/v1/scan`, { method: 'POST', body: '{' })).status, 400);
});

test('end to end: scan-first scans through the adapter (its pull not gated) and the gate refuses the Critical CVE', async () => {
  assert.equal((await api('/projects/scanned', 'PUT', { metadata: { prevent_vul: 'true', severity: 'high', prevent_vul_unscanned: 'scan-first' } })).status, 200);
  reports.delete(image.digest);
  reg.scanPolicy.gate.reportChanged(image.digest);
  const before = adapter.scans.length;
  const res = await request(`${reg.url}/v2/scanned/app/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 403, res.text);
  assert.match(res.json().errors[0].message, /CVE-2024-6387/);
  assert.equal(adapter.scans.length, before + 1, 'one scan ran');
  assert.equal(adapter.scans.at(-1)!.pullStatus, 200, "the scanner's pull was served despite the policy");
});

test('registrations as Harbor: the built-in is the default; register the adapter, read its metadata, make it default, choose per project', async () => {
  const list0 = (await api('/scanners')).json() as Array<{ uuid: string; is_default: boolean }>;
  assert.deepEqual(list0.map((r) => [r.uuid, r.is_default]), [['builtin', true]]);
  const made = await api('/scanners', 'POST', { name: 'trivy', url: adapter.url, auth: 'X-ScannerAdapter-API-Key', access_credential: 'secret-key' });
  assert.equal(made.status, 201, made.text);
  const uuid = made.headers.location!.split('/').pop()!;
  const got = (await api(`/scanners/${uuid}`)).json();
  assert.equal(got.access_credential, '***', 'the credential is write-only');
  assert.equal((await api('/scanners', 'POST', { name: 'trivy', url: adapter.url })).status, 409);
  assert.equal((await api('/scanners', 'POST', { name: 'bad', url: 'ftp://x' })).status, 400);
  const meta = await api(`/scanners/${uuid}/metadata`);
  assert.equal(meta.status, 200, meta.text);
  assert.equal(meta.json().scanner.name, 'Trivy');
  assert.equal((await api('/scanners/builtin/metadata')).json().scanner.name, 'minato');
  assert.equal((await api('/scanners/ping', 'POST', { url: 'http://127.0.0.1:9' })).status, 400);

  assert.equal((await api(`/scanners/${uuid}`, 'PATCH', { is_default: true })).status, 200);
  assert.deepEqual(((await api('/scanners')).json() as Array<{ uuid: string; is_default: boolean }>).map((r) => [r.uuid, r.is_default]), [['builtin', false], [uuid, true]]);
  assert.equal((await api('/projects/scanned/scanner')).json().uuid, uuid, 'the default');
  assert.equal((await api('/projects/scanned/scanner', 'PUT', { uuid: 'builtin' })).status, 200);
  assert.equal((await api('/projects/scanned/scanner')).json().uuid, 'builtin', 'the project chose the built-in');
  assert.equal((await api('/scanners/builtin', 'DELETE')).status, 403);
  assert.equal((await api(`/scanners/${uuid}`, 'DELETE')).status, 200);
  assert.equal((await api(`/scanners/${uuid}`)).status, 404);
  assert.equal((await request(`${reg.url}/api/v2.0/scanners`)).status, 401);
});
