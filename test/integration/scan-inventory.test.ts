// The scanner's inventory on real data: this machine's own dpkg database (checked package by
// package against dpkg-query) in gzip and zstd layers with whiteouts above them, a real SQLite
// rpmdb made by rpmbuild and rpm (checked against rpm -qa), the repository's own package-lock.json
// (checked against the installed node_modules), this machine's Python dist-packages (checked
// against importlib.metadata), and an image pushed to a test registry and read back through
// the BlobStore, as the scanner does.
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, mkdir, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { inventoryOf, inventoryOfImage } from '../../src/scan/inventory-of.js';
import type { Inventory, InventoryPackage } from '../../src/scan/inventory.js';
import { openBlobStore } from '../../src/storage/open-blob-store.js';
import { request } from '../helpers/http.js';
import { sha256 } from '../helpers/oci.js';
import { runOk } from '../helpers/peers.js';
import { ROOT, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { gzip, layer, LAYER, tarOf, zstd, type Entry } from '../fixtures/scan/layers.js';

let tmp: string;
before(async () => {
  tmp = await tempDir('minato-scan-');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The host file at `/p`, as an entry at `p` in the image (symlinks stay symlinks). */
async function hostEntry(p: string): Promise<Entry> {
  try {
    return { name: p, type: 'symlink', linkname: await readlink(`/${p}`) };
  } catch {
    return { name: p, data: await readFile(`/${p}`) };
  }
}

const line = (p: InventoryPackage): string => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`;
const sorted = (lines: string[]): string[] => [...lines].sort();
const ecosystems = (inv: Inventory, ecosystem: RegExp): InventoryPackage[] => inv.packages.filter((p) => ecosystem.test(p.ecosystem));

/** What dpkg itself says is installed here: name, version, source name, source version. */
async function dpkgQuery(): Promise<string[]> {
  const out = await runOk('dpkg-query', ['-W', '-f', '${db:Status-Want} ${db:Status-Status} ${Package} ${Version} ${source:Package} ${source:Version}\n']);
  return out.stdout
    .split('\n')
    .filter((l) => l && !/^(deinstall|purge) /.test(l) && !/^\S+ not-installed /.test(l))
    .map((l) => l.split(' ').slice(2).join(' '));
}

/** The lower layer: this machine's OS files and dpkg database, a distroless-style record and an app with a lockfile. */
async function baseEntries(): Promise<Entry[]> {
  return [
    await hostEntry('etc/os-release'),
    await hostEntry('usr/lib/os-release'),
    await hostEntry('var/lib/dpkg/status'),
    { name: 'var/lib/dpkg/status.d/minato-extra', data: 'Package: minato-extra\nVersion: 1.0-1\nArchitecture: all\n' },
    { name: 'opt/app/package-lock.json', data: await readFile(path.join(ROOT, 'package-lock.json')) },
  ];
}

/** The upper layer: deletes the status.d record and makes the app directory opaque, with a new file in it. */
const upperEntries: Entry[] = [
  { name: 'var/lib/dpkg/status.d/.wh.minato-extra' },
  { name: 'opt/app/.wh..wh..opq' },
  { name: 'opt/app/requirements.txt', data: 'six==1.16.0\n' },
];

test("this machine's dpkg database in a gzip and in a zstd layer matches dpkg-query, with the upper layer's whiteouts applied", async () => {
  const expected = sorted(await dpkgQuery());
  assert.ok(expected.length > 50, 'this machine has a dpkg database');
  const base = await tarOf(await baseEntries());
  const upper = await tarOf(upperEntries);
  for (const [name, lower, top] of [
    ['gzip below zstd', layer(gzip(base), LAYER.gzip), layer(zstd(upper), LAYER.zstd)],
    ['zstd below gzip', layer(zstd(base), LAYER.zstd), layer(gzip(upper), LAYER.gzip)],
  ] as const) {
    // Without the upper layer the extra record and the lockfile are there …
    const alone = await inventoryOf([lower]);
    assert.ok(alone.packages.some((p) => p.name === 'minato-extra'), name);
    assert.ok(ecosystems(alone, /^npm$/).length > 100, name);
    // … and the whiteouts above them remove both.
    const inv = await inventoryOf([lower, top]);
    assert.deepEqual(inv.warnings, [], name);
    const os = (await readFile('/usr/lib/os-release', 'utf8')).match(/^VERSION_ID="?([^"\n]*)/m)?.[1];
    assert.equal(inv.os?.versionId, os, name);
    const debs = ecosystems(inv, /^Debian/);
    assert.deepEqual(sorted(debs.map(line)), expected, name);
    assert.ok(debs.every((p) => p.ecosystem === `Debian:${os}` && p.layerDigest === lower.digest && p.path === 'var/lib/dpkg/status'), name);
    assert.equal(ecosystems(inv, /^npm$/).length, 0, name);
    assert.deepEqual(ecosystems(inv, /^PyPI$/).map((p) => [p.name, p.version, p.layerDigest]), [['six', '1.16.0', top.digest]], name);
  }
});

test('a SQLite rpmdb made by rpmbuild and rpm lists what rpm -qa lists: epoch, release, arch and source package', async () => {
  const top = path.join(tmp, 'rpm');
  const specs = [
    { name: 'minato-probe', version: '1.2.3', release: '4.el9', epoch: '2', arch: 'noarch', license: 'MIT AND Apache-2.0' },
    { name: 'minato-tools', version: '0.9', release: '1.el9', arch: 'x86_64', license: 'GPL-2.0-or-later' },
  ];
  await mkdir(path.join(top, 'SPECS'), { recursive: true });
  for (const s of specs) {
    const spec = path.join(top, 'SPECS', `${s.name}.spec`);
    await writeFile(spec, `Name: ${s.name}\nVersion: ${s.version}\nRelease: ${s.release}\n${s.epoch ? `Epoch: ${s.epoch}\n` : ''}Summary: test\nLicense: ${s.license}\n%description\ntest\n%files\n`);
    await runOk('rpmbuild', ['--define', `_topdir ${top}`, '--target', s.arch, '-bb', spec]);
  }
  const rpms = [];
  for (const arch of ['noarch', 'x86_64']) for (const f of await readdir(path.join(top, 'RPMS', arch))) rpms.push(path.join(top, 'RPMS', arch, f));
  const db = path.join(top, 'db');
  await runOk('rpm', ['--dbpath', db, '--initdb']);
  await runOk('rpm', ['--dbpath', db, '-i', '--justdb', '--nodeps', '--noscripts', '--ignorearch', ...rpms]);
  const oracle = await runOk('rpm', ['--dbpath', db, '-qa', '--qf', '%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{SOURCERPM} %{ARCH}\n']);
  const expected = oracle.stdout.trim().split('\n').map((l) => {
    const [name, version, srpm, arch] = l.split(' ');
    const base = srpm!.replace(/\.src\.rpm$/, '');
    return `${name} ${version} ${base.split('-').slice(0, -2).join('-')} ${base.split('-').slice(-2).join('-')} ${arch}`;
  });
  const image = layer(
    gzip(await tarOf([{ name: 'etc/os-release', data: 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.3"\n' }, { name: 'var/lib/rpm/rpmdb.sqlite', data: await readFile(path.join(db, 'rpmdb.sqlite')) }])),
  );
  const inv = await inventoryOf([image]);
  assert.deepEqual(inv.warnings, []);
  const rpmPackages = ecosystems(inv, /^Red Hat$/);
  assert.deepEqual(sorted(rpmPackages.map((p) => `${line(p)} ${new URL(p.purl.replace('pkg:', 'pkg://x/')).searchParams.get('arch')}`)), sorted(expected));
  const probe = rpmPackages.find((p) => p.name === 'minato-probe')!;
  assert.equal(probe.purl, 'pkg:rpm/redhat/minato-probe@1.2.3-4.el9?arch=noarch&distro=rhel-9.3&epoch=2');
  assert.equal(probe.layerDigest, image.digest);
});

test("the repository's package-lock.json lists every installed production package at the version node_modules holds", async () => {
  const lockText = await readFile(path.join(ROOT, 'package-lock.json'), 'utf8');
  const inv = await inventoryOf([layer(gzip(await tarOf([{ name: 'app/package-lock.json', data: lockText }])))]);
  const found = new Set(ecosystems(inv, /^npm$/).map((p) => `${p.name}@${p.version}`));
  const lock = JSON.parse(lockText) as { packages: Record<string, { dev?: boolean }> };
  let checked = 0;
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.includes('node_modules/')) continue;
    const manifest = path.join(ROOT, key, 'package.json');
    if (!existsSync(manifest)) continue; // an optional package for another platform
    const installed = JSON.parse(await readFile(manifest, 'utf8')) as { name: string; version: string };
    const name = key.slice(key.lastIndexOf('node_modules/') + 13);
    if (entry.dev) assert.ok(!found.has(`${name}@${installed.version}`) || Object.entries(lock.packages).some(([k, e]) => !e.dev && k.endsWith(`node_modules/${name}`)), `dev dependency ${name} is left out`);
    else {
      assert.ok(found.has(`${name}@${installed.version}`), `${name}@${installed.version} (installed at ${key}) is in the inventory`);
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} installed packages checked`);
  const kysely = ecosystems(inv, /^npm$/).find((p) => p.name === 'kysely');
  assert.equal(kysely?.purl, `pkg:npm/kysely@${kysely?.version}`);
});

test("this machine's Python dist-packages give the distributions importlib.metadata finds", async () => {
  const dir = 'usr/lib/python3/dist-packages';
  const entries: Entry[] = [];
  for (const name of await readdir(`/${dir}`)) {
    if (name.endsWith('.dist-info')) entries.push({ name: `${dir}/${name}/METADATA`, data: await readFile(`/${dir}/${name}/METADATA`) });
    else if (name.endsWith('.egg-info')) {
      const p = `/${dir}/${name}`;
      entries.push(existsSync(`${p}/PKG-INFO`) ? { name: `${dir}/${name}/PKG-INFO`, data: await readFile(`${p}/PKG-INFO`) } : { name: `${dir}/${name}`, data: await readFile(p) });
    }
  }
  const oracle = await runOk('python3', ['-c', `import importlib.metadata as m\nfor d in m.distributions(path=['/${dir}']): print(d.metadata['Name'], d.version)`]);
  const expected = sorted(oracle.stdout.trim().split('\n'));
  assert.ok(expected.length >= 5, 'this machine has Python packages');
  const inv = await inventoryOf([layer(zstd(await tarOf(entries)), LAYER.zstd)]);
  assert.deepEqual(sorted(ecosystems(inv, /^PyPI$/).map((p) => `${p.name} ${p.version}`)), expected);
  assert.ok(ecosystems(inv, /^PyPI$/).some((p) => p.licenses?.length), 'licenses are read where METADATA has them');
});

test('inventoryOfImage reads an image pushed to a registry through its BlobStore, and refuses an index', async (t) => {
  const reg: TestRegistry = await startTestRegistry();
  t.after(() => reg.close());
  const lower = gzip(await tarOf(await baseEntries()));
  const upper = zstd(await tarOf(upperEntries));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  for (const blob of [lower, upper, config]) {
    const res = await request(`${reg.url}/v2/scan/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { Authorization: reg.basic, 'Content-Type': 'application/octet-stream' }, body: blob });
    assert.equal(res.status, 201, res.text);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [
        { mediaType: LAYER.gzip, digest: sha256(lower), size: lower.length },
        { mediaType: LAYER.zstd, digest: sha256(upper), size: upper.length },
      ],
    }),
  );
  const put = await request(`${reg.url}/v2/scan/app/manifests/v1`, { method: 'PUT', headers: { Authorization: reg.basic, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  assert.equal(put.status, 201, put.text);
  const got = await request(`${reg.url}/v2/scan/app/manifests/v1`, { headers: { Authorization: reg.basic, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(got.status, 200);

  const blobs = await openBlobStore(parseConfig({ data: reg.dataDir }).storage, reg.dataDir);
  const inv = await inventoryOfImage(blobs, got.body);
  assert.deepEqual(inv.warnings, []);
  assert.deepEqual(sorted(ecosystems(inv, /^Debian/).map(line)), sorted(await dpkgQuery()));
  assert.ok(ecosystems(inv, /^Debian/).every((p) => p.layerDigest === sha256(lower)));
  assert.deepEqual(ecosystems(inv, /^PyPI$/).map((p) => p.layerDigest), [sha256(upper)]);
  assert.equal(inv.packages.some((p) => p.name === 'minato-extra' || p.ecosystem === 'npm'), false);

  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }] }));
  await assert.rejects(inventoryOfImage(blobs, index), /application\/vnd\.oci\.image\.index\.v1\+json has no layers to scan; scan each of its image manifests/);
});

test("Debian's own Go binaries (skopeo, pebble) give the Go release dpkg says they were built with", async () => {
  const binaries = [
    ['skopeo', 'usr/bin/skopeo'],
    ['pebble', 'usr/bin/pebble'],
  ] as const;
  const entries: Entry[] = [];
  for (const [, p] of binaries) entries.push({ name: p, data: await readFile(`/${p}`), mode: 0o755 });
  const inv = await inventoryOf([layer(gzip(await tarOf(entries)))]);
  assert.deepEqual(inv.warnings, []);
  for (const [pkg, p] of binaries) {
    // Built-Using: golang-1.19 (= 1.19.8-2), …: the toolchain, hence the stdlib, compiled in.
    const builtUsing = (await runOk('dpkg-query', ['-W', '-f', '${Built-Using}', pkg])).stdout;
    const golang = /\bgolang-\d+\.\d+ \(= (?:\d+:)?([\d.]+)-/.exec(builtUsing)?.[1];
    assert.ok(golang, `${pkg} is built with a Debian Go toolchain: ${builtUsing.slice(0, 80)}`);
    const stdlib = inv.packages.filter((x) => x.path === p && x.name === 'stdlib');
    assert.deepEqual(stdlib.map((x) => [x.ecosystem, x.version]), [['Go', golang]], p);
  }
});
