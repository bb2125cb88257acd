// Vulnerability data (scan/vulndb/): OSV records as one file, a directory, JSONL and a zip (as
// `zip` writes it, with and without streamed sizes), Debian's tracker JSON and Alpine's secdb,
// normalised into one model and stored on SQLite and PostgreSQL; re-imports are idempotent, a
// newer record replaces an older one and never the reverse, bad records are rejected and counted.
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { importVulnData } from '../../src/scan/vulndb/importer.js';
import { topLevelMembers } from '../../src/scan/vulndb/json-members.js';
import { cvss3BaseScore } from '../../src/scan/vulndb/cvss.js';
import { VulnDb } from '../../src/scan/vulndb/store.js';
import { ScanReports } from '../../src/scan/reports.js';
import { rematchStored } from '../../src/scan/scan-service.js';
import { matchWith } from '../../src/scan/builtin-scanner.js';
import { metadataDatabases, type OpenedStore } from '../conformance/metadata-databases.js';
import { runOk } from '../helpers/peers.js';
import { ROOT, tempDir } from '../helpers/registry.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/scan');
const databases = metadataDatabases();

async function withDb(open: () => Promise<OpenedStore>, fn: (db: VulnDb, dir: string) => Promise<void>): Promise<void> {
  const store = await open();
  const dir = await tempDir('minato-vulndb-');
  try {
    await fn(new VulnDb(store.db), dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('CVSS v3 base scores match FIRST’s calculator for known vectors', () => {
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), 7.8);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'), 7.5);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H'), 9.1);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N'), 6.1);
  assert.equal(cvss3BaseScore('CVSS:3.0/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N'), 0);
  assert.equal(cvss3BaseScore('CVSS:2.0/AV:N'), undefined);
});

test('a large JSON object is read member by member, whatever the chunk boundaries', async () => {
  const text = await readFile(path.join(FIXTURES, 'debian/tracker.json'), 'utf8');
  const whole = Object.entries(JSON.parse(text) as Record<string, unknown>);
  for (const size of [1, 7, 64, 100_000]) {
    async function* chunks() {
      for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
    }
    const got: Array<[string, unknown]> = [];
    for await (const m of topLevelMembers(chunks())) got.push(m);
    assert.deepEqual(got, whole, `chunks of ${size}`);
  }
  async function* truncated() {
    yield text.slice(0, text.length / 2);
  }
  await assert.rejects(async () => {
    for await (const _ of topLevelMembers(truncated()));
  }, /ends early/);
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`${dialect}: OSV as a file, a directory, JSONL and zips import the same records; a re-import changes nothing`, async () => {
    await withDb(databases[dialect], async (db, dir) => {
      const one = await importVulnData(db, path.join(FIXTURES, 'osv/DSA-5514-1.json'));
      assert.deepEqual([one.format, one.added, one.updated, one.unchanged, one.rejected], ['osv', 1, 0, 0, 0]);

      const all = await importVulnData(db, path.join(FIXTURES, 'osv'));
      assert.deepEqual([all.added, all.unchanged, all.rejected], [3, 1, 0]);

      // JSONL, with a line that is not a record: rejected, named, and the rest imported.
      const lines = await Promise.all(['DSA-5532-1', 'GHSA-jf85-cpcp-j695'].map(async (id) => JSON.stringify(JSON.parse(await readFile(path.join(FIXTURES, `osv/${id}.json`), 'utf8')))));
      const jsonl = path.join(dir, 'feed.jsonl');
      await writeFile(jsonl, `${lines[0]}\n{"id": "X-1"}\n\n${lines[1]}\nnot json\n`);
      const fromLines = await importVulnData(db, jsonl);
      assert.deepEqual([fromLines.added, fromLines.unchanged, fromLines.rejected], [0, 2, 2]);
      assert.match(fromLines.problems[0]!, /feed\.jsonl line 2: not an OSV record X-1: modified/);

      // all.zip as `zip` writes it, and as `zip -` streams it (sizes after each entry).
      const records = path.join(dir, 'records');
      await cp(path.join(FIXTURES, 'osv'), records, { recursive: true });
      await runOk('sh', ['-c', `cd ${records} && zip -q ${dir}/all.zip *.json && zip -q - *.json > ${dir}/streamed.zip`]);
      for (const zip of ['all.zip', 'streamed.zip']) {
        const z = await importVulnData(db, path.join(dir, zip));
        assert.deepEqual([z.added, z.updated, z.unchanged, z.rejected], [0, 0, 4, 0], zip);
      }

      const status = await db.status();
      assert.deepEqual(status.sources, [{ source: 'osv', records: 4, withdrawn: 0, packages: 5 }]);
      assert.equal(status.imports.length, 5);
      assert.match(status.imports[2]!.error ?? '', /2 records rejected/);
    });
  });

  test(`${dialect}: a newer record replaces the stored one, an older one does not; a withdrawn record stops matching`, async () => {
    await withDb(databases[dialect], async (db, dir) => {
      const base = JSON.parse(await readFile(path.join(FIXTURES, 'osv/DSA-5532-1.json'), 'utf8')) as Record<string, unknown>;
      const file = path.join(dir, 'r.json');
      await writeFile(file, JSON.stringify(base));
      await importVulnData(db, file);
      await writeFile(file, JSON.stringify({ ...base, modified: '2024-01-01T00:00:00Z', summary: 'newer' }));
      assert.equal((await importVulnData(db, file)).updated, 1);
      await writeFile(file, JSON.stringify({ ...base, modified: '2023-01-01T00:00:00Z', summary: 'older' }));
      assert.equal((await importVulnData(db, file)).unchanged, 1);
      const [r] = await db.affecting(['openssl']);
      assert.equal(r?.summary, 'newer');
      assert.equal(r?.severity, 'High');
      assert.deepEqual(r?.cvss, { scoreV3: 7.5, vectorV3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' });

      await writeFile(file, JSON.stringify({ ...base, modified: '2025-01-01T00:00:00Z', withdrawn: '2025-01-01T00:00:00Z' }));
      assert.equal((await importVulnData(db, file)).updated, 1);
      assert.deepEqual(await db.affecting(['openssl']), []);
      assert.equal((await db.status()).sources[0]!.withdrawn, 1);
    });
  });

  test(`${dialect}: Debian's tracker and Alpine's secdb become records per release`, async () => {
    await withDb(databases[dialect], async (db) => {
      const deb = await importVulnData(db, path.join(FIXTURES, 'debian/tracker.json'));
      assert.equal(deb.format, 'debian');
      // glibc x2, zlib, openssl CVE-2023-5363 (bullseye's "0" = not affected; undetermined skipped).
      assert.equal(deb.added, 4);
      const glibc = (await db.affecting(['glibc'])).filter((r) => r.id === 'CVE-2023-4911').map((r) => [r.affected.ecosystem, r.affected.ranges[0]!.events, r.affected.severity]);
      assert.deepEqual(glibc.sort(), [
        ['Debian:11', [{ introduced: '0' }, { fixed: '2.31-13+deb11u7' }], 'High'],
        ['Debian:12', [{ introduced: '0' }, { fixed: '2.36-9+deb12u3' }], 'Unknown'],
      ]);
      const openssl = await db.affecting(['openssl']);
      assert.deepEqual(openssl.map((r) => r.affected.ecosystem), ['Debian:12']);
      assert.equal((await importVulnData(db, path.join(FIXTURES, 'debian/tracker.json'))).unchanged, 4);

      const apk = await importVulnData(db, path.join(FIXTURES, 'alpine/v3.18-main.json'));
      assert.deepEqual([apk.format, apk.added], ['alpine', 6]);
      const ssl = (await db.affecting(['openssl'])).filter((r) => r.source === 'alpine:v3.18/main');
      assert.deepEqual(ssl.map((r) => [r.id, r.affected.ecosystem, r.affected.ranges[0]!.events[1]]).sort(), [
        ['CVE-2023-3446', 'Alpine:v3.18', { fixed: '3.1.1-r2' }],
        ['CVE-2023-3817', 'Alpine:v3.18', { fixed: '3.1.2-r0' }],
        ['CVE-2023-5363', 'Alpine:v3.18', { fixed: '3.1.4-r0' }],
        ['CVE-2023-5678', 'Alpine:v3.18', { fixed: '3.1.4-r1' }],
      ]);
      const sources = (await db.status()).sources.map((s) => [s.source, s.records]);
      assert.deepEqual(sources, [['alpine:v3.18/main', 6], ['debian', 4]]);
    });
  });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`${dialect}: scan reports and inventories: a scan's life, the summary the gate reads, a re-match after an import`, async () => {
    const store = await databases[dialect]();
    try {
      const db = new VulnDb(store.db);
      let now = 1_000_000;
      const reports = new ScanReports(store.db, undefined, () => now);
      const digest = `sha256:${'cd'.repeat(32)}`;
      const scanner = { name: 'minato', vendor: 'minato', version: 'test' };
      assert.equal(await reports.get(digest), undefined);
      const id = await reports.begin({ digest, repository: 'p/app', mediaType: 'application/vnd.oci.image.manifest.v1+json' }, scanner);
      assert.equal((await reports.report(digest))?.status, 'Pending');
      assert.equal(await reports.setStatus(digest, id, 'Running'), true);
      const inventory = { os: { id: 'debian', versionId: '12' }, packages: [{ ecosystem: 'Debian:12', name: 'libssl3', version: '3.0.11-1~deb12u1', source: { name: 'openssl', version: '3.0.11-1~deb12u1' }, purl: 'pkg:deb/debian/libssl3', layerDigest: digest, path: 'var/lib/dpkg/status' }], warnings: [] };
      now += 2000;
      assert.equal(await reports.complete(digest, id, await matchWith(db, inventory), inventory), true);
      // A stop after the end changes nothing; a stale report id neither.
      assert.equal(await reports.setStatus(digest, id, 'Stopped'), false);
      assert.equal(await reports.complete(digest, 'other', [], inventory), false);
      const first = await reports.get(digest);
      assert.deepEqual([first?.status, first?.total, first?.severity, first?.startTime], ['Success', 0, 'None', new Date(1_000_000).toISOString()]);
      assert.deepEqual(await reports.inventories.get(digest), inventory);

      // Another process (the server) has the summary cached; this one (the CLI) imports and re-matches.
      const server = new ScanReports(store.db, undefined, () => now);
      assert.equal((await server.get(digest))?.total, 0);
      await importVulnData(db, path.join(FIXTURES, 'osv/DSA-5532-1.json'));
      assert.deepEqual(await rematchStored(reports, (inv) => matchWith(db, inv)), { inventories: 1, changed: 1 });
      // This process sees it at once; the other within its cache time.
      assert.equal((await reports.get(digest))?.total, 1);
      assert.equal((await server.get(digest))?.total, 0);
      now += 6000;
      const after = await server.get(digest);
      assert.deepEqual([after?.status, after?.total, after?.fixable, after?.severity, after?.ids], ['Success', 1, 1, 'High', ['CVE-2023-5363']]);
      assert.equal((await reports.report(digest))?.reportId, id);
      assert.deepEqual(await rematchStored(reports, (inv) => matchWith(db, inv)), { inventories: 1, changed: 0 });
      const listed = await reports.reports([digest, `sha256:${'ef'.repeat(32)}`]);
      assert.deepEqual([...listed.keys()], [digest]);
      assert.equal(listed.get(digest)?.summary?.total, 1);
    } finally {
      await store.close();
    }
  });
}

test('a file that is none of the formats is refused with a reason, and recorded as a failed import', async () => {
  await withDb(databases.sqlite, async (db, dir) => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, '{"distroversion": "three", "packages": []}');
    await assert.rejects(importVulnData(db, file), /not an Alpine secdb file: distroversion/);
    await mkdir(path.join(dir, 'empty'));
    await assert.rejects(importVulnData(db, path.join(dir, 'nope.json')), /no such file/);
    const [last] = (await db.status()).imports;
    assert.match(last!.error ?? '', /distroversion/);
    assert.equal(last!.finishedAt !== undefined, true);
  });
});
