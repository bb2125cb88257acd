// The package analyzers on small, hand-written databases: which OS and OSV ecosystem an image
// is, dpkg's source defaults and removed packages, apk origins and licenses, npm lockfiles v1
// and v3 with the node_modules fallback, and Python's pinned requirements, poetry.lock and
// METADATA. The real databases of this machine are read in test/integration/scan-inventory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageFiles } from '../../src/scan/layers.js';
import { apkAnalyzer } from '../../src/scan/analyzers/apk.js';
import { dpkgAnalyzer, parseSource } from '../../src/scan/analyzers/dpkg.js';
import { npmAnalyzer } from '../../src/scan/analyzers/npm.js';
import { osReleaseAnalyzer, osvEcosystem } from '../../src/scan/analyzers/os-release.js';
import { pythonAnalyzer } from '../../src/scan/analyzers/python.js';
import { parseSourceRpm } from '../../src/scan/analyzers/rpm.js';
import { inventoryOf } from '../../src/scan/inventory-of.js';
import { gzip, layer, tarOf } from '../fixtures/scan/layers.js';

function image(files: Record<string, string>): ImageFiles {
  return { files: new Map(Object.entries(files).map(([p, data]) => [p, { path: p, data: Buffer.from(data), layerDigest: 'sha256:l1' }])), warnings: [] };
}

test('os-release gives the OS, and the OS gives OSV ecosystem strings', () => {
  const debian = osReleaseAnalyzer.analyze(image({ 'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' }), {});
  assert.deepEqual((debian as { os: unknown }).os, { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  const ubuntu = osReleaseAnalyzer.analyze(image({ 'usr/lib/os-release': "NAME='Ubuntu'\nID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n" }), {});
  const alpine = osReleaseAnalyzer.analyze(image({ 'etc/alpine-release': '3.19.1\n' }), {});
  const sid = osReleaseAnalyzer.analyze(image({ 'etc/debian_version': 'trixie/sid\n' }), {});
  const cases: Array<[unknown, string]> = [
    [(debian as { os: unknown }).os, 'Debian:12'],
    [(ubuntu as { os: unknown }).os, 'Ubuntu:22.04:LTS'],
    [{ id: 'ubuntu', versionId: '23.10', prettyName: 'Ubuntu 23.10' }, 'Ubuntu:23.10'],
    [(alpine as { os: unknown }).os, 'Alpine:v3.19'],
    [(sid as { os: unknown }).os, 'Debian'],
    [{ id: 'rhel', versionId: '9.3' }, 'Red Hat'],
    [{ id: 'rocky', versionId: '9.3' }, 'Rocky Linux'],
    [{ id: 'wolfi', versionId: '20230201' }, 'Wolfi'],
    [undefined, 'Debian'],
  ];
  for (const [os, ecosystem] of cases) assert.equal(osvEcosystem(os as never, 'Debian'), ecosystem, JSON.stringify(os));
});

test('dpkg: source name and version default as dpkg says, removed packages are skipped, distroless status.d is read', async () => {
  const status = [
    'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: SSL\n continuation line\n',
    'Package: gcc-12-base\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14+deb12u1\n',
    'Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n',
    'Package: purged\nStatus: purge ok not-installed\nVersion: 1.0\n',
    'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n',
  ].join('\n');
  const files = image({ 'var/lib/dpkg/status': status, 'var/lib/dpkg/status.d/tzdata': 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n', 'var/lib/dpkg/status.d/tzdata.md5sums': 'x' });
  const { packages } = await dpkgAnalyzer.analyze(files, { os: { id: 'debian', versionId: '12' } });
  const got = packages.map((p) => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version} ${p.ecosystem}`);
  assert.deepEqual(got, [
    'libssl3 3.0.11-1~deb12u2 openssl 3.0.11-1~deb12u2 Debian:12',
    'gcc-12-base 12.2.0-14+deb12u1 gcc-12 12.2.0-14 Debian:12',
    'bash 5.2.15-2+b2 bash 5.2.15-2+b2 Debian:12',
    'tzdata 2024a-0+deb12u1 tzdata 2024a-0+deb12u1 Debian:12',
  ]);
  assert.equal(packages[0]!.purl, 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12');
  assert.equal(packages[3]!.path, 'var/lib/dpkg/status.d/tzdata');
  assert.deepEqual(parseSource('glibc (2.36-9+deb12u4)', 'libc6', '2.36-9+deb12u7'), { name: 'glibc', version: '2.36-9+deb12u4' });
});

test('apk: name, version, origin as source, license and arch', async () => {
  const db = 'C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nR:lib/libcrypto.so.3\nR:usr/lib/x\n\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\n\nP:broken\n\n';
  const { packages, warnings } = await apkAnalyzer.analyze(image({ 'lib/apk/db/installed': db }), { os: { id: 'alpine', versionId: '3.19.1' } });
  assert.deepEqual(
    packages.map((p) => [p.ecosystem, p.name, p.version, p.source?.name, p.licenses?.join(','), p.purl]),
    [
      ['Alpine:v3.19', 'libcrypto3', '3.1.4-r5', 'openssl', 'Apache-2.0', 'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1'],
      ['Alpine:v3.19', 'musl', '1.2.4_git20230717-r4', 'musl', 'MIT', 'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1'],
    ],
  );
  assert.match(warnings.join('\n'), /1 entries without P: or V:/);
});

test('rpm: the source package from SOURCERPM', () => {
  assert.deepEqual(parseSourceRpm('openssl-3.0.7-27.el9.src.rpm'), { name: 'openssl', version: '3.0.7-27.el9' });
  assert.deepEqual(parseSourceRpm('python-pip-21.3.1-1.fc36.src.rpm'), { name: 'python-pip', version: '21.3.1-1.fc36' });
  assert.equal(parseSourceRpm('nonsense'), undefined);
});

test('npm: lockfile v3 and v1 without dev dependencies; node_modules package.json only where no lockfile covers it', async () => {
  const v3 = JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { name: 'app', version: '1.0.0' },
      'node_modules/express': { version: '4.18.2', license: 'MIT' },
      'node_modules/@types/node': { version: '20.1.0', dev: true },
      'node_modules/@aws-sdk/client-s3': { version: '3.500.0', license: 'Apache-2.0' },
      'node_modules/a/node_modules/ms': { version: '2.0.0' },
      'node_modules/linked': { link: true, resolved: 'packages/linked' },
      'packages/linked': { version: '0.0.1' },
      'node_modules/gitdep': { version: 'git+https://example.com/x.git#abc' },
    },
  });
  const v1 = JSON.stringify({ lockfileVersion: 1, dependencies: { lodash: { version: '4.17.20', dependencies: { minimist: { version: '0.0.8' } } }, mocha: { version: '10.0.0', dev: true } } });
  const files = image({
    'app/package-lock.json': v3,
    'app/node_modules/express/package.json': JSON.stringify({ name: 'express', version: '4.18.2' }),
    'old/package-lock.json': v1,
    'usr/local/lib/node_modules/npm/package.json': JSON.stringify({ name: 'npm', version: '10.2.4', license: 'Artistic-2.0' }),
    'usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json': JSON.stringify({ name: '@npmcli/arborist', version: '7.2.1', license: { type: 'ISC' } }),
  });
  const { packages } = await npmAnalyzer.analyze(files, {});
  assert.deepEqual(
    packages.map((p) => `${p.path} ${p.name}@${p.version} ${p.licenses?.join(',') ?? '-'} ${p.purl}`),
    [
      'app/package-lock.json express@4.18.2 MIT pkg:npm/express@4.18.2',
      'app/package-lock.json @aws-sdk/client-s3@3.500.0 Apache-2.0 pkg:npm/%40aws-sdk/client-s3@3.500.0',
      'app/package-lock.json ms@2.0.0 - pkg:npm/ms@2.0.0',
      'old/package-lock.json lodash@4.17.20 - pkg:npm/lodash@4.17.20',
      'old/package-lock.json minimist@0.0.8 - pkg:npm/minimist@0.0.8',
      'usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json @npmcli/arborist@7.2.1 ISC pkg:npm/%40npmcli/arborist@7.2.1',
      'usr/local/lib/node_modules/npm/package.json npm@10.2.4 Artistic-2.0 pkg:npm/npm@10.2.4',
    ],
  );
});

test('python: pinned requirements, poetry.lock and installed METADATA with licenses', async () => {
  const files = image({
    'app/requirements.txt': '# deps\nDjango==4.2.7  # web\nrequests[socks]==2.31.0 ; python_version >= "3.8"\nflask>=2.0\n-r other.txt\n--index-url https://x\nnumpy===1.26.2\n',
    'app/requirements-dev.txt': 'pytest==7.4.3\n',
    'svc/poetry.lock': '[[package]]\nname = "attrs"\nversion = "23.1.0"\n\n[package.dependencies]\nsix = "*"\n\n[[package]]\nname = "six"\nversion = "1.16.0"\n\n[metadata]\nlock-version = "2.0"\n',
    'usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA': 'Metadata-Version: 2.1\nName: cryptography\nVersion: 38.0.4\nLicense: Apache-2.0 OR BSD-3-Clause\n\nlong description\nName: not-this\n',
    'usr/lib/python3/dist-packages/six-1.16.0.egg-info': 'Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n',
    'usr/lib/python3/dist-packages/broken.dist-info/METADATA': 'Metadata-Version: 2.1\n',
  });
  const { packages, warnings } = await pythonAnalyzer.analyze(files, {});
  assert.deepEqual(
    packages.map((p) => `${p.name}@${p.version} ${p.licenses?.join(',') ?? '-'} ${p.purl}`),
    [
      'pytest@7.4.3 - pkg:pypi/pytest@7.4.3',
      'Django@4.2.7 - pkg:pypi/django@4.2.7',
      'requests@2.31.0 - pkg:pypi/requests@2.31.0',
      'numpy@1.26.2 - pkg:pypi/numpy@1.26.2',
      'attrs@23.1.0 - pkg:pypi/attrs@23.1.0',
      'six@1.16.0 - pkg:pypi/six@1.16.0',
      'cryptography@38.0.4 Apache-2.0 OR BSD-3-Clause pkg:pypi/cryptography@38.0.4',
      'six@1.16.0 MIT License pkg:pypi/six@1.16.0',
    ],
  );
  assert.match(warnings.join('\n'), /broken\.dist-info\/METADATA: no Name or Version/);
});

test('inventoryOf runs every analyzer on one read of the layers and names the ecosystem after the OS', async () => {
  const l1 = layer(gzip(await tarOf([{ name: 'etc/os-release', data: 'ID=alpine\nVERSION_ID=3.19.1\n' }, { name: 'lib/apk/db/installed', data: 'P:busybox\nV:1.36.1-r15\no:busybox\n\n' }, { name: 'srv/requirements.txt', data: 'six==1.16.0\n' }])));
  const l2 = layer(gzip(await tarOf([{ name: 'srv/.wh.requirements.txt' }])));
  const inventory = await inventoryOf([l1, l2]);
  assert.deepEqual(inventory.os, { id: 'alpine', versionId: '3.19.1' });
  assert.deepEqual(inventory.packages.map((p) => `${p.ecosystem} ${p.name} ${p.version} ${p.layerDigest === l1.digest}`), ['Alpine:v3.19 busybox 1.36.1-r15 true']);
  assert.deepEqual(inventory.warnings, []);
});
