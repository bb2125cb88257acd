// The on-disk layout of the filesystem blob store. This module is its only owner.
//
//   <root>/
//     blobs/
//       sha256/
//         ab/
//           abcdef0123...        committed blob, named by its digest; immutable
//       sha512/...
//     uploads/
//       <uuid>                   bytes of an upload in progress; its size is the upload offset
//
// A blob becomes visible only by rename(2) from uploads/ into blobs/, after its digest was
// verified and its data fsynced, so a crash never leaves a partial blob under blobs/.
import path from 'node:path';
import type { Digest } from '../../oci/names.js';

const UPLOAD_ID_RE = /^[0-9a-f-]{36}$/;

export class FsLayout {
  readonly blobsDir: string;
  readonly uploadsDir: string;

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs');
    this.uploadsDir = path.join(root, 'uploads');
  }

  blobPath(digest: Digest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return path.join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  /** Upload ids are UUIDs we generated; anything else never reaches the filesystem. */
  uploadPath(id: string): string | undefined {
    return UPLOAD_ID_RE.test(id) ? path.join(this.uploadsDir, id) : undefined;
  }
}
