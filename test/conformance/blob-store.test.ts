// The BlobStore conformance suite (blob-store.ts) against every driver: the filesystem store
// (with and without direct I/O) in a temp dir, and the S3 store on a real Ceph radosgw (one
// cluster for this file, one bucket per test).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/filesystem/fs-blob-store.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { startRadosgw, type RunningRadosgw } from '../helpers/radosgw.js';
import { blobStoreConformance, type BlobStoreSubject } from './blob-store.js';

const MiB = 1024 * 1024;

/** A subject over stores that `open` makes on the same storage; `cleanup` runs after they close. */
async function subject(open: () => Promise<BlobStore>, cleanup: () => Promise<void> = async () => undefined): Promise<BlobStoreSubject> {
  const opened: BlobStore[] = [await open()];
  return {
    store: opened[0]!,
    another: async () => {
      const store = await open();
      opened.push(store);
      return store;
    },
    dispose: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await cleanup();
    },
  };
}

for (const directIO of [true, false]) {
  blobStoreConformance(`filesystem (directIO ${directIO})`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'minato-conformance-'));
    return subject(
      () => FsBlobStore.open(dir, { directIO }),
      () => rm(dir, { recursive: true, force: true }),
    );
  });
}

let rgw: RunningRadosgw | undefined;
before(async () => {
  rgw = await startRadosgw();
});
after(async () => {
  await rgw?.stop();
});

blobStoreConformance(
  's3 (Ceph radosgw)',
  async () => {
    const bucket = await rgw!.createBucket();
    const config = rgw!.driverConfig(bucket, { prefix: 'registry' });
    // The smallest parts S3 allows, so the suite's bodies cross several part boundaries.
    return subject(() => S3BlobStore.open(config, { partSize: 5 * MiB }));
  },
  { partSize: 5 * MiB },
);
