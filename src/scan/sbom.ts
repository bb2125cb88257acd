// SBOM documents from a scanned image's package inventory (scan/inventory.ts Inventory):
// CycloneDX 1.6 JSON, built and serialized with @cyclonedx/cyclonedx-library (the image as
// metadata.component, each package a component with its purl, version and licenses), and SPDX 2.3
// JSON (the image as the package the document DESCRIBES, each package with its purl as a
// PACKAGE-MANAGER externalRef and a CONTAINS relationship from the image). Pure: no I/O.
import { randomUUID } from 'node:crypto';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import type { Inventory, InventoryPackage } from './inventory.js';

export type SbomFormat = 'cyclonedx' | 'spdx';

/** The OCI artifactType and layer media type of each format (what the referrers API filters on). */
export const SBOM_MEDIA_TYPES: Record<SbomFormat, string> = {
  cyclonedx: 'application/vnd.cyclonedx+json',
  spdx: 'application/spdx+json',
};

/** The image an SBOM describes. */
export interface SbomSubject {
  /** The registry's host (and port), for the image's purl: `registry.example.com`. */
  host: string;
  repository: string;
  digest: string;
  tag?: string;
}

export interface SbomTool {
  name: string;
  version: string;
}

/** The image's purl (purl-spec's `oci` type: the last path component, the digest, repository_url). */
export function imagePurl(s: SbomSubject): string {
  const name = s.repository.split('/').pop()!;
  return new PackageURL('oci', undefined, name, s.digest, { repository_url: `${s.host}/${s.repository}`, ...(s.tag ? { tag: s.tag } : {}) }, undefined).toString();
}

export function sbomDocument(format: SbomFormat, inventory: Inventory, subject: SbomSubject, tool: SbomTool, now = new Date()): string {
  return format === 'cyclonedx' ? cycloneDx(inventory, subject, tool, now) : spdx(inventory, subject, tool, now);
}

/** Packages once each (a package found twice, in two layers or lockfiles, is one component). */
function distinct(packages: readonly InventoryPackage[]): InventoryPackage[] {
  const seen = new Map<string, InventoryPackage>();
  for (const p of packages) if (!seen.has(p.purl)) seen.set(p.purl, p);
  return [...seen.values()];
}

function cycloneDx(inventory: Inventory, subject: SbomSubject, tool: SbomTool, now: Date): string {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${randomUUID()}`;
  bom.metadata.timestamp = now;
  bom.metadata.tools.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Application, tool.name, { version: tool.version }));
  const image = new CDX.Models.Component(CDX.Enums.ComponentType.Container, subject.repository, { version: subject.digest, bomRef: imagePurl(subject) });
  image.purl = imagePurl(subject);
  bom.metadata.component = image;
  for (const p of distinct(inventory.packages)) {
    const c = new CDX.Models.Component(CDX.Enums.ComponentType.Library, p.name, { version: p.version, bomRef: p.purl });
    c.purl = p.purl;
    for (const license of p.licenses ?? []) {
      c.licenses.add(CDX.SPDX.isSupportedSpdxId(license) ? new CDX.Models.SpdxLicense(license) : new CDX.Models.NamedLicense(license));
    }
    c.properties.add(new CDX.Models.Property('minato:layer_digest', p.layerDigest));
    c.properties.add(new CDX.Models.Property('minato:path', p.path));
    bom.components.add(c);
    image.dependencies.add(c.bomRef);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

/** An SPDX element id from any text: `SPDXRef-` then letters, digits, "." and "-" only. */
function spdxId(prefix: string, n: number, name: string): string {
  return `SPDXRef-${prefix}-${n}-${name.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 64)}`;
}

/** A package's licenses as an SPDX expression, with LicenseRefs for names outside the SPDX list. */
function spdxLicense(licenses: readonly string[] | undefined, extracted: Map<string, string>): string {
  if (!licenses || licenses.length === 0) return 'NOASSERTION';
  const parts = licenses.map((l: string) => {
    if (CDX.SPDX.isSupportedSpdxId(l)) return l;
    const name: string = l;
    const ref = `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
    extracted.set(ref, name);
    return ref;
  });
  return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' AND ');
}

function spdx(inventory: Inventory, subject: SbomSubject, tool: SbomTool, now: Date): string {
  const extracted = new Map<string, string>();
  const imageId = 'SPDXRef-Image';
  const packages = distinct(inventory.packages).map((p, i) => ({
    name: p.name,
    SPDXID: spdxId('Package', i + 1, p.name),
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: spdxLicense(p.licenses, extracted),
    copyrightText: 'NOASSERTION',
    sourceInfo: `found in ${p.path} of layer ${p.layerDigest}`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }],
  }));
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.repository}@${subject.digest}`,
    documentNamespace: `https://${subject.host}/spdx/${subject.repository}/${subject.digest.replace(':', '-')}-${randomUUID()}`,
    creationInfo: { created: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: ${tool.name}-${tool.version}`] },
    packages: [
      {
        name: subject.repository,
        SPDXID: imageId,
        versionInfo: subject.digest,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: 'CONTAINER',
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(subject) }],
        ...(inventory.os ? { comment: `operating system: ${inventory.os.prettyName ?? `${inventory.os.id} ${inventory.os.versionId}`}` } : {}),
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
    ...(extracted.size > 0
      ? { hasExtractedLicensingInfos: [...extracted].map(([licenseId, name]) => ({ licenseId, name, extractedText: `the package declares the license "${name}"` })) }
      : {}),
  };
  return JSON.stringify(doc, null, 2);
}
