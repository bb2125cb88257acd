// The blob commit's side of online garbage collection (core/upload-sessions.ts), on the real
// SQLite store and filesystem blob store: a push of a blob GC has marked rescues it (the sweep
// then skips it); a push whose bytes a sweep deleted while it was being committed is refused
// with a retryable BLOB_UPLOAD_INVALID and links nothing; a mount of a blob GC is deleting
// answers "no mount" (the client uploads); a push after a deletion that had ended is fine.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { BlobCollectedError, UploadSessions } from '../../../src/core/upload-sessions.js';
import { SYSTEM_ACTOR } from '../../../src/events/events.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite/sqlite-metadata-store.js';
import type { Digest } from '../../../src/oci/names.js';
import { Policies } from '../../../src/policy/policy.js';
import type { BlobInfo, BlobStore, UploadState } from '../../../src/storage/blob-store.js';
import { FsBlobStore } from '../../../src/storage/filesystem/fs-blob-store.js';
import { KeyedQueue } from '../../../src/util/async.js';
import { sha256 } from '../../helpers/oci.js';
import { tempDir } from '../../helpers/registry.js';

let dir: string;
let meta: SqliteMetadataStore;
let fs: FsBlobStore;
/** Runs once, when the next commit of a blob has stored its bytes (before the linking transaction). */
let onCommitted: (() => Promise<void>) | undefined;

/** The real store, with a hook after a commit: where a concurrent sweep would land. (The filesystem store has no putWhole: every commit goes through commit.) */
function hooked(store: FsBlobStore): BlobStore {
  const after = async (info: BlobInfo) => {
    const hook = onCommitted;
    onCommitted = undefined;
    await hook?.();
    return info;
  };
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'commit') return async (state: UploadState, digest: Digest) => after(await target.commit(state, digest));
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

let uploads: UploadSessions;
const caller = { actor: SYSTEM_ACTOR };
const chunk = (bytes: Buffer) => ({ body: Readable.from([bytes]), length: bytes.length, aborted: () => false });

before(async () => {
  dir = await tempDir();
  meta = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  fs = await FsBlobStore.open(dir, { directIO: false });
  uploads = new UploadSessions({ blobs: hooked(fs), meta, policies: new Policies({}), serial: new KeyedQueue() });
});
after(async () => {
  await meta.close();
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

/** A blob that was pushed to `old/repo` and unlinked again, then marked by GC. */
async function markedBlob(seed: string): Promise<{ bytes: Buffer; digest: Digest }> {
  const bytes = Buffer.from(`a blob GC marked: ${seed}`);
  const digest = sha256(bytes) as Digest;
  await uploads.push(caller, 'old/repo', digest, chunk(bytes));
  await meta.transaction((tx) => tx.unlinkBlob('old/repo', digest));
  assert.equal((await meta.transaction((tx) => tx.markBlobs([digest], 1))).length, 1);
  return { bytes, digest };
}

/** What the sweep does to one marked blob: deleting, the bytes gone, deleted. */
async function sweep(digest: Digest, seq: number): Promise<void> {
  assert.equal((await meta.transaction((tx) => tx.startDeleting([digest], seq))).length, 1);
  await fs.delete(digest);
  await meta.transaction((tx) => tx.finishDeleting([digest]));
}

test('a push of a blob GC marked takes it back: linked, whole, and the sweep skips it', async () => {
  const { bytes, digest } = await markedBlob('rescued');
  await uploads.push(caller, 'new/repo', digest, chunk(bytes));
  assert.equal(await meta.repositoryBlobSize('new/repo', digest), bytes.length);
  assert.equal(await meta.blobDeletion(digest), undefined);
  assert.deepEqual(await meta.transaction((tx) => tx.startDeleting([digest], 7)), [], 'nothing left to sweep');
  assert.ok(await fs.stat(digest));
});

test('a push whose bytes the sweep deleted while it was being committed is refused, retryably, and links nothing; pushed again it is fine', async () => {
  const { bytes, digest } = await markedBlob('refused');
  onCommitted = () => sweep(digest, 11);
  await assert.rejects(uploads.push(caller, 'new/repo2', digest, chunk(bytes)), (err: unknown) => {
    assert.ok(err instanceof BlobCollectedError);
    assert.equal(err.code, 'BLOB_UPLOAD_INVALID');
    assert.match(err.message, /garbage collection removed blob .* while it was being committed; push it again/);
    return true;
  });
  assert.equal(await meta.repositoryBlobSize('new/repo2', digest), undefined, 'no link to bytes that are gone');
  // The client pushes again: the deletion ended before this commit stored the bytes.
  await uploads.push(caller, 'new/repo2', digest, chunk(bytes));
  assert.equal(await meta.repositoryBlobSize('new/repo2', digest), bytes.length);
  assert.ok(await fs.stat(digest), 'stored anew');
});

test('the same through a streamed upload (POST, PUT with the body)', async () => {
  const { bytes, digest } = await markedBlob('streamed');
  const state = await uploads.start(caller, 'new/repo3');
  onCommitted = () => sweep(digest, 12);
  // A body without a declared length is streamed, never put whole.
  await assert.rejects(uploads.finish(caller, 'new/repo3', state.id, digest, { body: Readable.from([bytes]), aborted: () => false }), BlobCollectedError);
  assert.equal(await meta.repositoryBlobSize('new/repo3', digest), undefined);
  assert.equal(await meta.getUpload(state.id), undefined, 'the upload is dropped');
});

test('a mount of a blob GC is deleting is no mount: the client uploads it instead', async () => {
  const bytes = Buffer.from('a blob to mount');
  const digest = sha256(bytes) as Digest;
  await uploads.push(caller, 'src/repo', digest, chunk(bytes));
  // Another repository's link goes and GC takes the blob while the mount is on its way: simulated
  // by marking it after the source's link is gone from under the mount.
  await meta.transaction((tx) => tx.unlinkBlob('src/repo', digest));
  await meta.transaction((tx) => tx.markBlobs([digest], 2));
  await meta.transaction((tx) => tx.startDeleting([digest], 13));
  assert.equal(await uploads.mount(caller, 'dst/repo', digest, 'src/repo'), undefined);
  assert.equal(await meta.repositoryBlobSize('dst/repo', digest), undefined);
});
