// SBOM documents (scan/sbom.ts) from an inventory: CycloneDX 1.6 valid against the CycloneDX
// schemas that @cyclonedx/cyclonedx-library ships (compiled with ajv and ajv-formats exactly as
// its JsonStrictValidator does; that class itself also wants ajv-formats-draft2019, which is not
// installed, for the one format "idn-email" it adds: given here as a plain check), with the image
// as metadata.component and each package's purl, version and licenses; SPDX 2.3 with the image
// DESCRIBED, packages with purl externalRefs, CONTAINS relationships and LicenseRefs for names
// outside the SPDX list, valid against the SPDX 2.3 JSON schema (test/fixtures/spdx-2.3-schema.json:
// its source and licence are in its $comment). A package found twice is listed once.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { imagePurl, sbomDocument } from '../../src/scan/sbom.js';
import type { Inventory } from '../../src/scan/inventory.js';
import { fileURLToPath } from 'node:url';

/** The repository (this file runs from dist/test/unit). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const require = createRequire(import.meta.url);
const SCHEMAS = path.join(path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;

async function cycloneDxValidator(): Promise<(doc: unknown) => unknown[] | null> {
  const load = async (file: string) => JSON.parse(await readFile(path.join(SCHEMAS, file), 'utf8')) as object;
  const schemas = {
    'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': await load('spdx.SNAPSHOT.schema.json'),
    'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json': await load('cryptography-defs.SNAPSHOT.schema.json'),
    'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': await load('jsf-0.82.SNAPSHOT.schema.json'),
  };
  const ajv = new Ajv({ useDefaults: false, strict: false, strictSchema: false, addUsedSchema: false, schemas });
  addFormats(ajv);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  ajv.addFormat('iri-reference', true);
  const validate = ajv.compile(await load('bom-1.6.SNAPSHOT.schema.json'));
  return (doc) => (validate(doc) ? null : (validate.errors ?? []));
}

const L1 = `sha256:${'1'.repeat(64)}`;
const inventory: Inventory = {
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  packages: [
    { ecosystem: 'Debian:12', name: 'openssl', version: '3.0.11-1~deb12u2', purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', licenses: ['Apache-2.0'], layerDigest: L1, path: 'var/lib/dpkg/status' },
    { ecosystem: 'Debian:12', name: 'openssl', version: '3.0.11-1~deb12u2', purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', licenses: ['Apache-2.0'], layerDigest: L1, path: 'var/lib/dpkg/status' },
    { ecosystem: 'npm', name: '@scope/left-pad', version: '1.3.0', purl: 'pkg:npm/%40scope/left-pad@1.3.0', licenses: ['MIT', 'Custom Corp License'], layerDigest: L1, path: 'app/package-lock.json' },
    { ecosystem: 'PyPI', name: 'requests', version: '2.31.0', purl: 'pkg:pypi/requests@2.31.0', layerDigest: L1, path: 'usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA' },
  ],
  warnings: [],
};
const subject = { host: 'registry.example.com:5000', repository: 'team/app', digest: `sha256:${'a'.repeat(64)}`, tag: 'v1' };
const tool = { name: 'minato', version: '0.0.0-test' };

test('CycloneDX 1.6: valid against the schema; the image as metadata.component; purls, versions and licenses', async () => {
  const text = sbomDocument('cyclonedx', inventory, subject, tool);
  const doc = JSON.parse(text);
  const errors = (await cycloneDxValidator())(doc);
  assert.equal(errors, null, JSON.stringify(errors));
  assert.equal(doc.bomFormat, 'CycloneDX');
  assert.equal(doc.specVersion, '1.6');
  assert.equal(doc.metadata.component.type, 'container');
  assert.equal(doc.metadata.component.purl, imagePurl(subject));
  assert.match(doc.metadata.component.purl, /^pkg:oci\/app@sha256(%3A|:)a{64}\?repository_url=registry.example.com%3A5000%2Fteam%2Fapp&tag=v1$/);
  assert.equal(doc.components.length, 3, 'the package found twice is one component');
  const npm = doc.components.find((c: { name: string }) => c.name === '@scope/left-pad');
  assert.equal(npm.purl, 'pkg:npm/%40scope/left-pad@1.3.0');
  assert.equal(npm.version, '1.3.0');
  const licenses = (npm.licenses as unknown[]).map((l) => JSON.stringify(l)).sort();
  assert.deepEqual(licenses, [JSON.stringify({ license: { id: 'MIT' } }), JSON.stringify({ license: { name: 'Custom Corp License' } })].sort());
  const image = doc.dependencies.find((d: { ref: string }) => d.ref === imagePurl(subject));
  assert.equal(image.dependsOn.length, 3, 'the image depends on every package');

  // The validator is not a rubber stamp: a broken document fails it.
  const broken = { ...doc, components: [{ ...doc.components[0], type: 'not-a-type' }] };
  assert.notEqual((await cycloneDxValidator())(broken), null);
});

async function spdxValidator(): Promise<(doc: unknown) => unknown[] | null> {
  const schema = JSON.parse(await readFile(path.join(ROOT, 'test', 'fixtures', 'spdx-2.3-schema.json'), 'utf8')) as object;
  const validate = new Ajv({ strict: false }).compile(schema);
  return (doc) => (validate(doc) ? null : (validate.errors ?? []));
}

test('SPDX 2.3: valid against the schema; the image DESCRIBED, packages with purls CONTAINED, licenses as expressions with LicenseRefs', async () => {
  const doc = JSON.parse(sbomDocument('spdx', inventory, subject, tool, new Date('2026-01-02T03:04:05.678Z')));
  const validate = await spdxValidator();
  const errors = validate(doc);
  assert.equal(errors, null, JSON.stringify(errors));
  assert.notEqual(validate({ ...doc, relationships: [{ ...doc.relationships[0], relationshipType: 'IS_NEAR' }] }), null, 'the schema is not a rubber stamp');
  assert.notEqual(validate({ ...doc, packages: [{ ...doc.packages[0], purl: 'x' }] }), null, 'unknown package fields are refused');
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  assert.equal(doc.dataLicense, 'CC0-1.0');
  assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
  assert.equal(doc.creationInfo.created, '2026-01-02T03:04:05Z');
  assert.deepEqual(doc.creationInfo.creators, ['Tool: minato-0.0.0-test']);
  assert.match(doc.documentNamespace, /^https:\/\/registry\.example\.com:5000\/spdx\/team\/app\/sha256-a{64}-[0-9a-f-]{36}$/);
  assert.equal(doc.packages.length, 4, 'the image and three packages');
  const ids = new Set(doc.packages.map((p: { SPDXID: string }) => p.SPDXID));
  assert.equal(ids.size, 4);
  for (const id of ids) assert.match(id as string, /^SPDXRef-[A-Za-z0-9.-]+$/);
  const image = doc.packages.find((p: { SPDXID: string }) => p.SPDXID === 'SPDXRef-Image');
  assert.equal(image.primaryPackagePurpose, 'CONTAINER');
  assert.deepEqual(doc.relationships[0], { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' });
  assert.equal(doc.relationships.filter((r: { relationshipType: string }) => r.relationshipType === 'CONTAINS').length, 3);
  const npm = doc.packages.find((p: { name: string }) => p.name === '@scope/left-pad');
  assert.deepEqual(npm.externalRefs, [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:npm/%40scope/left-pad@1.3.0' }]);
  assert.equal(npm.licenseDeclared, '(MIT) AND (LicenseRef-Custom-Corp-License)');
  assert.deepEqual(doc.hasExtractedLicensingInfos.map((l: { licenseId: string }) => l.licenseId), ['LicenseRef-Custom-Corp-License']);
  assert.equal(doc.packages.find((p: { name: string }) => p.name === 'requests').licenseDeclared, 'NOASSERTION');
});
