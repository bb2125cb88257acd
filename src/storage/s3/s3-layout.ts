// The key layout of the S3 blob store in its bucket. This module is its only owner.
//
//   <prefix>/
//     blobs/
//       sha256/
//         ab/
//           abcdef0123...        committed blob, named by its digest; immutable
//     uploads/
//       <id>/data                the key of the upload's multipart upload; an object only
//                                between CompleteMultipartUpload and the copy to blobs/
//       <id>/tail-<offset>-<nonce>  bytes after the last part (under 5 MiB, S3's smallest
//                                part), as an object; <offset> is where the upload stood after
//                                them, <nonce> tells apart the appends that raced to write them
//
// A blob key is written only by one atomic PUT, copy or CompleteMultipartUpload of bytes whose
// digest was verified, so a blob key never shows a partial blob. Keys sort as digests do
// ("sha256/ab/ab..." in the order of "sha256:ab..."), which list() relies on.
import type { Digest } from '../../oci/names.js';

const UPLOAD_ID_RE = /^[0-9a-f-]{36}$/;
const BLOB_KEY_RE = /^(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]+)$/;

export class S3Layout {
  readonly blobsPrefix: string;
  readonly uploadsPrefix: string;

  /** `prefix` as configured: leading and trailing slashes do not matter. */
  constructor(prefix: string) {
    const root = prefix.replace(/^\/+|\/+$/g, '');
    this.blobsPrefix = `${root ? `${root}/` : ''}blobs/`;
    this.uploadsPrefix = `${root ? `${root}/` : ''}uploads/`;
  }

  blobKey(digest: Digest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `${this.blobsPrefix}${algorithm}/${hex.slice(0, 2)}/${hex}`;
  }

  /** The digest a blob key names, or undefined for anything else found under blobs/. */
  digestOf(key: string): Digest | undefined {
    const m = BLOB_KEY_RE.exec(key.slice(this.blobsPrefix.length));
    if (!key.startsWith(this.blobsPrefix) || !m || m[3]!.slice(0, 2) !== m[2]) return undefined;
    const digest = `${m[1]}:${m[3]}`;
    return (m[1] === 'sha256' ? m[3]!.length === 64 : m[3]!.length === 128) ? (digest as Digest) : undefined;
  }

  /** Upload ids are UUIDs the core generated; anything else never becomes a key. */
  validUploadId(id: string): boolean {
    return UPLOAD_ID_RE.test(id);
  }

  uploadPrefix(id: string): string {
    return `${this.uploadsPrefix}${id}/`;
  }

  dataKey(id: string): string {
    return `${this.uploadPrefix(id)}data`;
  }

  tailKey(id: string, name: string): string {
    return `${this.uploadPrefix(id)}tail-${name}`;
  }

  /** The upload id a key under uploads/ belongs to. */
  uploadIdOf(key: string): string | undefined {
    if (!key.startsWith(this.uploadsPrefix)) return undefined;
    const id = key.slice(this.uploadsPrefix.length).split('/')[0]!;
    return this.validUploadId(id) ? id : undefined;
  }
}
