// The scan service (scan/scan-service.ts) with a scanner whose pace the test sets (a small
// hand-written ArtifactScanner): one scan per digest at a time (asking again returns the same
// report), in order; a stop marks the report Stopped and drops the result that comes later; a
// failing scanner leaves an Error report with its reason; only image manifests are taken.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import pino from 'pino';
import { test } from 'node:test';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import type { ArtifactScanner, ScanResult } from '../../src/scan/inventory.js';
import { ScanReports } from '../../src/scan/reports.js';
import { ScanService, type ScanTarget } from '../../src/scan/scan-service.js';
import { tempDir } from '../helpers/registry.js';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

/** Scans end when the test says so (or fail, for digests it names). */
class PacedScanner implements ArtifactScanner {
  readonly info = { name: 'paced', vendor: 'test', version: '1' };
  readonly started: string[] = [];
  private readonly waiting = new Map<string, (r: ScanResult) => void>();
  constructor(private readonly failing: Set<string>) {}
  scan(target: { digest: string }, progress?: (f: number) => void): Promise<ScanResult> {
    this.started.push(target.digest);
    progress?.(0.5);
    if (this.failing.has(target.digest)) return Promise.reject(new Error('the layer could not be read'));
    return new Promise((resolve) => this.waiting.set(target.digest, resolve));
  }
  finish(digest: string): void {
    const f = this.waiting.get(digest);
    assert.ok(f, `${digest} is being scanned`);
    this.waiting.delete(digest);
    f({ findings: [{ id: 'CVE-2024-0001', aliases: [], package: 'p', version: '1', severity: 'High', links: [], layerDigest: digest }] });
  }
}

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(await check());
}

test('scans run one at a time in order; a repeat request joins; stop and failure end as Stopped and Error', async () => {
  const dir = await tempDir('minato-scan-service-');
  const store = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  try {
    const reports = new ScanReports(store.db);
    const scanner = new PacedScanner(new Set([digestOf(3)]));
    const service = new ScanService({ reports, scanner, match: async () => [], autoScan: async () => false, images: async () => [], log: pino({ level: 'silent' }) });
    const target = (n: number): ScanTarget => ({ repository: 'p/app', digest: digestOf(n), mediaType: IMAGE });

    const first = await service.request(target(1));
    assert.equal(await service.request(target(1)), first, 'asking again while it runs returns the same report');
    await service.request(target(2));
    await service.request(target(3));
    await until(() => scanner.started.length === 1);
    assert.equal((await reports.report(digestOf(1)))?.status, 'Running');
    assert.equal(service.percent(digestOf(1)), 50);
    assert.equal((await reports.report(digestOf(2)))?.status, 'Pending');

    // Stopping the running scan: Stopped now, and its result, when it comes, is dropped.
    assert.equal(await service.stop(digestOf(1)), true);
    assert.equal((await reports.report(digestOf(1)))?.status, 'Stopped');
    assert.equal((await reports.get(digestOf(1)))?.status, 'Error', 'the gate sees a stopped scan as not a success');
    scanner.finish(digestOf(1));
    await until(() => scanner.started.length === 2);
    assert.equal((await reports.report(digestOf(1)))?.status, 'Stopped');
    assert.deepEqual((await reports.report(digestOf(1)))?.findings, []);

    scanner.finish(digestOf(2));
    await service.settled(digestOf(2));
    await service.settled(digestOf(3));
    const two = await reports.report(digestOf(2));
    assert.deepEqual([two?.status, two?.summary?.total, two?.scanner.name], ['Success', 1, 'paced']);
    const three = await reports.report(digestOf(3));
    assert.deepEqual([three?.status, three?.error], ['Error', 'the layer could not be read']);
    assert.equal(await service.stop(digestOf(2)), false, 'nothing to stop once it ended');
    await assert.rejects(service.request({ ...target(4), mediaType: 'application/vnd.oci.image.index.v1+json' }), /not an image manifest/);
    service.close();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
