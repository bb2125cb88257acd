// The blob store the configuration names (storage.driver): the one place that knows every
// driver, for the composition root and the CLI.
import type { Config } from '../config/schema.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './filesystem/fs-blob-store.js';
import { S3BlobStore } from './s3/s3-blob-store.js';

/**
 * Opens the configured store. The filesystem store lives under `dataDir` (made when missing);
 * the S3 store makes no request here: ping() is its readiness check.
 */
export async function openBlobStore(storage: Config['storage'], dataDir: string): Promise<BlobStore> {
  switch (storage.driver.kind) {
    case 'filesystem':
      return FsBlobStore.open(dataDir, { directIO: storage.directIO });
    case 's3':
      return S3BlobStore.open(storage.driver);
  }
}
