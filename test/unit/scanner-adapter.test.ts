// The Harbor vulnerability report of a scanner adapter as findings (scan/adapter/adapter-client.ts
// findingsOf): every field the spec gives mapped, severities in any case (anything else Unknown),
// the layer digest from the report or the artifact, and a report that is not one refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf } from '../../src/scan/adapter/adapter-client.js';

const ARTIFACT = `sha256:${'a'.repeat(64)}`;
const LAYER = `sha256:${'b'.repeat(64)}`;

test('a Harbor report maps to findings', () => {
  const findings = findingsOf(
    {
      generated_at: '2026-01-01T00:00:00Z',
      scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.50.1' },
      severity: 'High',
      vulnerabilities: [
        { id: 'CVE-2023-1', package: 'zlib', version: '1.2.13', fix_version: '1.3', severity: 'HIGH', description: 'overflow', links: ['https://x'], preferred_cvss: { score_v3: 7.5, vector_v3: 'CVSS:3.1/AV:N' }, layer: { digest: LAYER } },
        { id: 'GHSA-xxxx', package: 'lodash', version: '4.17.20', severity: 'medium', links: null },
        { id: 'CVE-2023-2', package: 'bash', version: '5.2', severity: 'Whatever' },
      ],
    },
    ARTIFACT,
  );
  assert.deepEqual(findings, [
    { id: 'CVE-2023-1', aliases: [], package: 'zlib', version: '1.2.13', fixVersion: '1.3', severity: 'High', description: 'overflow', links: ['https://x'], layerDigest: LAYER, cvss: { scoreV3: 7.5, vectorV3: 'CVSS:3.1/AV:N' } },
    { id: 'GHSA-xxxx', aliases: [], package: 'lodash', version: '4.17.20', severity: 'Medium', links: [], layerDigest: ARTIFACT },
    { id: 'CVE-2023-2', aliases: [], package: 'bash', version: '5.2', severity: 'Unknown', links: [], layerDigest: ARTIFACT },
  ]);
  assert.deepEqual(findingsOf({ vulnerabilities: null }, ARTIFACT), [], 'a clean report');
});

test('what is not a report is refused', () => {
  assert.throws(() => findingsOf({ vulnerabilities: [{ id: '', package: 'a', version: '1', severity: 'Low' }] }, ARTIFACT));
  assert.throws(() => findingsOf({ vulnerabilities: 'many' }, ARTIFACT));
});
