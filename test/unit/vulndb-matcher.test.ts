// Matching (scan/matcher.ts): OSV's evaluation algorithm with each ecosystem's version order,
// distro packages by source name, the smallest fix above the installed version, severities from
// CVSS or the feed; against the fixture records and this machine's real dpkg status.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Inventory, InventoryPackage } from '../../src/scan/inventory.js';
import { inRange, lookupNames, matchInventory } from '../../src/scan/matcher.js';
import { compare } from '../../src/scan/versions/index.js';
import { importVulnData } from '../../src/scan/vulndb/importer.js';
import { VulnDb } from '../../src/scan/vulndb/store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { dpkgStatusInventory } from '../helpers/dpkg-status.js';
import { ROOT, tempDir } from '../helpers/registry.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/scan');
const LAYER = `sha256:${'ab'.repeat(32)}`;

async function withFeeds(files: string[], fn: (db: VulnDb) => Promise<void>): Promise<void> {
  const dir = await tempDir('minato-match-');
  const store = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  try {
    const db = new VulnDb(store.db);
    for (const f of files) await importVulnData(db, path.join(FIXTURES, f));
    await fn(db);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function match(db: VulnDb, inventory: Inventory) {
  return matchInventory(inventory, await db.affecting(lookupNames(inventory)));
}

function pkg(ecosystem: string, name: string, version: string, source?: { name: string; version: string }): InventoryPackage {
  return { ecosystem, name, version, source, purl: `pkg:generic/${name}@${version}`, layerDigest: LAYER, path: 'x' };
}

test('OSV range evaluation: introduced/fixed pairs, last_affected, limit, and listed versions', () => {
  const cmp = (a: string, b: string) => compare('semver', a, b);
  const r = { type: 'SEMVER' as const, events: [{ introduced: '1.0.0' }, { fixed: '1.2.0' }, { introduced: '2.0.0' }, { last_affected: '2.3.1' }] };
  const inside = ['1.0.0', '1.1.9', '2.0.0', '2.3.1'];
  const outside = ['0.9.0', '1.2.0', '1.9.9', '2.3.2', '3.0.0'];
  for (const v of inside) assert.equal(inRange(v, r, cmp), true, v);
  for (const v of outside) assert.equal(inRange(v, r, cmp), false, v);
  const limited = { type: 'SEMVER' as const, events: [{ introduced: '0' }, { limit: '1.5.0' }] };
  assert.equal(inRange('1.4.0', limited, cmp), true);
  assert.equal(inRange('1.5.0', limited, cmp), false);
  // Events in any order: the schema sorts them.
  assert.equal(inRange('1.1.0', { type: 'SEMVER', events: [{ fixed: '1.2.0' }, { introduced: '1.0.0' }] }, cmp), true);
});

test('this machine’s dpkg status: fixed advisories stay quiet, an unfixed one is reported with its CVE and CVSS severity', async () => {
  const status = await readFile('/var/lib/dpkg/status', 'utf8');
  const versionId = /^VERSION_ID="?(\d+)/m.exec(await readFile('/etc/os-release', 'utf8'))?.[1] ?? '12';
  const inventory = dpkgStatusInventory(status, { versionId, layerDigest: LAYER });
  assert.ok(inventory.packages.length > 50, 'a real status file');
  await withFeeds(['osv'], async (db) => {
    const findings = await match(db, inventory);
    const libc6 = inventory.packages.find((p) => p.name === 'libc6');
    const zlib1g = inventory.packages.find((p) => p.name === 'zlib1g');
    const glibcFixed = libc6 && execFileSync('sh', ['-c', `dpkg --compare-versions '${libc6.source!.version}' ge 2.36-9+deb12u3 && echo yes || echo no`], { encoding: 'utf8' }).trim() === 'yes';
    // The oracle (dpkg) decides what is expected, not the code under test.
    assert.equal(findings.some((f) => f.id === 'CVE-2023-4911'), versionId === '12' && libc6 !== undefined && !glibcFixed);
    if (zlib1g && versionId === '12') {
      const z = findings.find((f) => f.id === 'CVE-2023-45853' && f.package === 'zlib1g');
      assert.ok(z, 'zlib1g (source zlib) is affected: no fix in bookworm');
      assert.deepEqual([z.version, z.fixVersion, z.severity, z.cvss?.scoreV3, z.layerDigest], [zlib1g.version, undefined, 'Critical', 9.8, LAYER]);
      assert.ok(z.aliases.includes('DEBIAN-CVE-2023-45853'));
    }
    // Every finding names a package of the inventory at its installed version.
    for (const f of findings) assert.ok(inventory.packages.some((p) => p.name === f.package && p.version === f.version), f.package);
  });
});

test('Debian: a package matches by source name and version; fix_version is the smallest fix above it', async () => {
  await withFeeds(['osv', 'debian/tracker.json'], async (db) => {
    const old = { name: 'openssl', version: '3.0.11-1~deb12u1' };
    const inventory: Inventory = {
      packages: [pkg('Debian:12', 'libssl3', '3.0.11-1~deb12u1', old), pkg('Debian:12', 'openssl', '3.0.11-1~deb12u1', old), pkg('Debian:12', 'libc6', '2.36-9+deb12u1', { name: 'glibc', version: '2.36-9+deb12u1' })],
      warnings: [],
    };
    const findings = await match(db, inventory);
    const rows = findings.map((f) => [f.id, f.package, f.fixVersion, f.severity]);
    assert.deepEqual(rows, [
      // OSV's DSA and the tracker's entry are one finding (the most severe, with the fix).
      ['CVE-2023-4911', 'libc6', '2.36-9+deb12u3', 'High'],
      ['CVE-2023-5363', 'libssl3', '3.0.11-1~deb12u2', 'High'],
      ['CVE-2023-5363', 'openssl', '3.0.11-1~deb12u2', 'High'],
      // The tracker's "unimportant" urgency.
      ['CVE-2010-4756', 'libc6', undefined, 'Negligible'],
    ]);
    assert.ok(findings[1]!.aliases.includes('DSA-5532-1'));
    assert.ok(findings[1]!.links.includes('https://www.debian.org/security/2023/dsa-5532'));
    // Another release's advisory does not apply.
    assert.deepEqual(await match(db, { packages: [pkg('Debian:11', 'openssl', '3.0.11-1~deb12u1')], warnings: [] }), []);
  });
});

test('Alpine: by origin, with apk order; npm: semver order and GHSA severity', async () => {
  await withFeeds(['alpine/v3.18-main.json', 'osv/GHSA-jf85-cpcp-j695.json'], async (db) => {
    const alpine = await match(db, {
      packages: [pkg('Alpine:v3.18', 'libcrypto3', '3.1.4-r0', { name: 'openssl', version: '3.1.4-r0' }), pkg('Alpine:v3.18', 'zlib', '1.2.13-r1')],
      warnings: [],
    });
    assert.deepEqual(
      alpine.map((f) => [f.id, f.package, f.fixVersion]),
      [['CVE-2023-5678', 'libcrypto3', '3.1.4-r1']],
    );
    const old = await match(db, { packages: [pkg('Alpine:v3.18', 'libssl3', '3.1.1-r1', { name: 'openssl', version: '3.1.1-r1' })], warnings: [] });
    assert.deepEqual(old.map((f) => [f.id, f.fixVersion]).sort(), [
      ['CVE-2023-3446', '3.1.1-r2'],
      ['CVE-2023-3817', '3.1.2-r0'],
      ['CVE-2023-5363', '3.1.4-r0'],
      ['CVE-2023-5678', '3.1.4-r1'],
    ]);
    const npm = await match(db, { packages: [pkg('npm', 'lodash', '4.17.11'), pkg('npm', 'lodash', '4.17.12'), pkg('npm', 'lodash-es', '4.9.0')], warnings: [] });
    assert.deepEqual(
      npm.map((f) => [f.id, f.package, f.version, f.fixVersion, f.severity]),
      [
        ['GHSA-jf85-cpcp-j695', 'lodash', '4.17.11', '4.17.12', 'Critical'],
        ['GHSA-jf85-cpcp-j695', 'lodash-es', '4.9.0', '4.17.12', 'Critical'],
      ],
    );
    assert.deepEqual(npm[0]!.aliases, ['CVE-2019-10744']);
  });
});
