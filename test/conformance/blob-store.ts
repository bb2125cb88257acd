// The BlobStore contract (src/storage/blob-store.ts) as one suite every driver runs
// (blob-store.test.ts): what the core relies on, seen from outside. Each test gets fresh, empty
// storage; `another()` opens a second store over the same storage, which is what another
// replica (or this one after a restart) sees.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { Digest } from '../../src/oci/names.js';
import {
  AppendInterruptedError,
  BlobNotFoundError,
  BodyTooLargeError,
  DigestMismatchError,
  UploadNotFoundError,
  UploadOffsetError,
  type BlobStore,
  type UploadState,
} from '../../src/storage/blob-store.js';

export interface BlobStoreSubject {
  store: BlobStore;
  /** A new store instance over the same storage (closed by dispose). */
  another(): Promise<BlobStore>;
  dispose(): Promise<void>;
}

const MiB = 1024 * 1024;

export function sha256(data: Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function sha512(data: Buffer): Digest {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

/** A request body arriving in pieces of `piece` bytes, as from a socket. */
export function body(data: Buffer, piece = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) chunks.push(data.subarray(i, i + piece));
  return Readable.from(chunks, { objectMode: false });
}

/** A body that delivers `data` and then breaks off, as when a client hangs up mid-request. */
function brokenBody(data: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(data);
      } else setImmediate(() => this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Appends `pieces` one request each, from the state the previous one returned. */
async function appendAll(store: BlobStore, state: UploadState, pieces: Buffer[]): Promise<UploadState> {
  for (const piece of pieces) state = await store.append(state, body(piece));
  return state;
}

async function push(store: BlobStore, data: Buffer): Promise<Digest> {
  const digest = sha256(data);
  const state = await store.append(await store.begin(randomUUID()), body(data));
  assert.deepEqual(await store.commit(state, digest), { digest, size: data.length });
  return digest;
}

/**
 * Registers the suite. `partSize` is the size above which a driver may store an append in
 * pieces of its own (S3's 5 MiB parts): bodies of several of them are used so those paths run.
 */
export function blobStoreConformance(name: string, subject: () => Promise<BlobStoreSubject>, options: { partSize?: number } = {}): void {
  const part = options.partSize ?? 5 * MiB;
  const it = (title: string, fn: (s: BlobStoreSubject) => Promise<void>) =>
    test(title, async () => {
      const s = await subject();
      try {
        await fn(s);
      } finally {
        await s.dispose();
      }
    });

  describe(`BlobStore conformance: ${name}`, () => {
    it('a committed blob: stat, whole reads and byte ranges; a missing one: undefined and BlobNotFoundError', async ({ store }) => {
      const data = randomBytes(100_000);
      const digest = await push(store, data);
      assert.deepEqual(await store.stat(digest), { digest, size: data.length });
      assert.ok((await readAll(await store.open(digest))).equals(data));
      for (const [start, end] of [[0, 0], [10, 19], [99_999, 99_999], [0, 99_999], [65_530, 65_560]] as const) {
        assert.ok((await readAll(await store.open(digest, { start, end }))).equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`);
      }
      const missing = sha256(Buffer.from('never stored'));
      assert.equal(await store.stat(missing), undefined);
      await assert.rejects(store.open(missing), BlobNotFoundError);
      await assert.rejects(store.open(missing, { start: 0, end: 1 }), BlobNotFoundError);
    });

    it('an empty blob', async ({ store }) => {
      const empty = Buffer.alloc(0);
      const state = await store.append(await store.begin(randomUUID()), body(empty));
      assert.equal(state.offset, 0);
      assert.deepEqual(await store.commit(state, sha256(empty)), { digest: sha256(empty), size: 0 });
      assert.deepEqual(await store.stat(sha256(empty)), { digest: sha256(empty), size: 0 });
      assert.equal((await readAll(await store.open(sha256(empty)))).length, 0);
    });

    it('appends of every size (a byte, less than a part, across part boundaries) add up to the blob', async ({ store }) => {
      const pieces = [1, part - 3, 2, 4, 2 * part + 17, 1, part, 1000].map((n) => randomBytes(n));
      const data = Buffer.concat(pieces);
      const begun = await store.begin(randomUUID());
      assert.equal(begun.offset, 0);
      let state = begun;
      let offset = 0;
      for (const piece of pieces) {
        state = await store.append(state, body(piece, 100_000));
        offset += piece.length;
        assert.equal(state.offset, offset);
        assert.doesNotThrow(() => JSON.parse(JSON.stringify(state)), 'the state is plain JSON');
      }
      // Nothing is visible under the digest before the commit.
      assert.equal(await store.stat(sha256(data)), undefined);
      assert.deepEqual(await store.commit(state, sha256(data)), { digest: sha256(data), size: data.length });
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
    });

    it('another instance continues and commits an upload from its state alone (what another replica does)', async ({ store, another }) => {
      const pieces = [randomBytes(part + 5), randomBytes(3), randomBytes(part * 2)];
      const data = Buffer.concat(pieces);
      let state = await store.begin(randomUUID());
      state = await store.append(state, body(pieces[0]!));
      // The state travels as JSON, through the metadata store.
      state = JSON.parse(JSON.stringify(state)) as UploadState;
      const b = await another();
      state = await b.append(state, body(pieces[1]!));
      const c = await another();
      state = await c.append(JSON.parse(JSON.stringify(state)) as UploadState, body(pieces[2]!));
      const d = await another();
      assert.deepEqual(await d.commit(JSON.parse(JSON.stringify(state)) as UploadState, sha256(data)), { digest: sha256(data), size: data.length });
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data), 'the first instance reads what the last committed');
    });

    it('an append from a state whose successor was never saved discards the lost bytes (a crash between append and save)', async ({ store }) => {
      const first = randomBytes(part + 100);
      let state = await store.append(await store.begin(randomUUID()), body(first));
      const kept = state;
      await store.append(kept, body(randomBytes(part + 7))); // its state is lost
      await store.append(kept, body(randomBytes(11))); // and this one's too
      const second = randomBytes(2000);
      state = await store.append(kept, body(second));
      const data = Buffer.concat([first, second]);
      assert.equal(state.offset, data.length);
      await store.commit(state, sha256(data));
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
    });

    it('two appends raced from one state (a retry and the request it replaces): the state kept commits its own bytes or fails, never the other\'s', async ({ store }) => {
      // Ends in a tail, and in a whole part, so both ways of storing an append are raced.
      for (const size of [1000, part + 100]) {
        const head = randomBytes(2000);
        const begun = await store.append(await store.begin(randomUUID()), body(head));
        const mine = randomBytes(size);
        const kept = await store.append(begun, body(mine));
        await store.append(begun, body(randomBytes(size))); // lost its race to save its state
        const data = Buffer.concat([head, mine]);
        const digest = sha256(data);
        try {
          assert.deepEqual(await store.commit(kept, digest), { digest, size: data.length });
        } catch (err) {
          assert.ok(err instanceof DigestMismatchError || err instanceof UploadNotFoundError, `a clean failure, not ${String(err)}`);
          assert.equal(await store.stat(digest), undefined, `size ${size}: nothing stored under the digest`);
          continue;
        }
        assert.ok((await readAll(await store.open(digest))).equals(data), `size ${size}: the blob holds the kept state's bytes`);
      }
    });

    it('a state claiming more bytes than the upload holds is refused with UploadOffsetError', async ({ store }) => {
      const state = await store.append(await store.begin(randomUUID()), body(randomBytes(1000)));
      await assert.rejects(store.append({ ...state, offset: state.offset + 10 }, body(randomBytes(10))), UploadOffsetError);
      // The upload itself is unharmed.
      const more = randomBytes(10);
      const next = await store.append(state, body(more));
      assert.equal(next.offset, 1010);
    });

    it('a body that breaks off keeps what arrived, with the state on the error, and the upload resumes from there', async ({ store }) => {
      const data = randomBytes(part + 300_000);
      const cut = part + 100_000;
      let state = await store.append(await store.begin(randomUUID()), body(data.subarray(0, 1000)));
      const err = await store.append(state, brokenBody(data.subarray(1000, cut))).then(
        () => assert.fail('a broken body must not succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppendInterruptedError, `AppendInterruptedError, not ${String(err)}`);
      assert.equal(err.state.offset, cut);
      state = await store.append(err.state, body(data.subarray(cut)));
      await store.commit(state, sha256(data));
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
    });

    it('a body over maxBytes is refused with BodyTooLargeError and the upload goes on from the state it had', async ({ store }) => {
      const head = randomBytes(1000);
      const state = await store.append(await store.begin(randomUUID()), body(head));
      await assert.rejects(store.append(state, body(randomBytes(part + 10)), { maxBytes: part }), (e: unknown) => e instanceof BodyTooLargeError && e.limit === part);
      const rest = randomBytes(500);
      const next = await store.append(state, body(rest), { maxBytes: 500 });
      const data = Buffer.concat([head, rest]);
      await store.commit(next, sha256(data));
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
    });

    it('a digest mismatch names the actual digest, stores nothing, and keeps the upload for another try', async ({ store }) => {
      const data = randomBytes(part + 1234);
      const state = await store.append(await store.begin(randomUUID()), body(data));
      const wrong = sha256(Buffer.from('something else'));
      await assert.rejects(store.commit(state, wrong), (e: unknown) => e instanceof DigestMismatchError && e.expected === wrong && e.actual === sha256(data));
      assert.equal(await store.stat(wrong), undefined);
      assert.equal(await store.stat(sha256(data)), undefined);
      assert.deepEqual(await store.commit(state, sha256(data)), { digest: sha256(data), size: data.length });
      assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
    });

    it('sha512 digests are verified too', async ({ store }) => {
      const data = randomBytes(part + 99);
      const state = await store.append(await store.begin(randomUUID()), body(data));
      await assert.rejects(store.commit(state, sha512(Buffer.from('other'))), DigestMismatchError);
      assert.deepEqual(await store.commit(state, sha512(data)), { digest: sha512(data), size: data.length });
      assert.ok((await readAll(await store.open(sha512(data)))).equals(data));
    });

    it('content already stored: a second upload of it commits and is dropped, and the blob stays whole', async ({ store }) => {
      const data = randomBytes(part + 10);
      const digest = await push(store, data);
      const again = await store.append(await store.begin(randomUUID()), body(data));
      assert.deepEqual(await store.commit(again, digest), { digest, size: data.length });
      // A repeated commit of an upload that is gone may succeed (the content is there) or report the
      // upload unknown; it never harms the blob.
      await store.commit(again, digest).catch((e: unknown) => assert.ok(e instanceof UploadNotFoundError, String(e)));
      assert.ok((await readAll(await store.open(digest))).equals(data));
      assert.equal((await store.listUploads()).length, 0, 'no upload data is left behind');
    });

    it('cancel discards the data, twice is fine, and the upload is unknown afterwards', async ({ store }) => {
      const data = randomBytes(part + 10);
      const state = await store.append(await store.begin(randomUUID()), body(data));
      assert.ok((await store.listUploads()).some((u) => u.id === state.id));
      await store.cancel(state);
      await store.cancel(state);
      assert.ok(!(await store.listUploads()).some((u) => u.id === state.id));
      await assert.rejects(store.append(state, body(randomBytes(10))), UploadNotFoundError);
      await assert.rejects(store.commit(state, sha256(data)), UploadNotFoundError);
      assert.equal(await store.stat(sha256(data)), undefined);
      await store.cancel(await store.begin(randomUUID())); // an upload that never got a byte
    });

    it('listUploads shows uploads with data and when they were last active; discardUpload removes one by its id alone', async ({ store, another }) => {
      const before = Date.now() - 5000; // clocks of the machine and the storage may differ a little
      const a = await store.append(await store.begin(randomUUID()), body(randomBytes(100)));
      const b = await appendAll(store, await store.begin(randomUUID()), [randomBytes(part + 1), randomBytes(10)]);
      const listed = await (await another()).listUploads();
      for (const s of [a, b]) {
        const u = listed.find((x) => x.id === s.id);
        assert.ok(u, `upload ${s.id} is listed`);
        assert.ok(u.modified.getTime() >= before && u.modified.getTime() <= Date.now() + 5000, `modified ${u.modified.toISOString()} is recent`);
      }
      await store.discardUpload(b.id);
      await store.discardUpload(b.id);
      await store.discardUpload('not-an-upload-id/../../blobs');
      const after = await store.listUploads();
      assert.ok(after.some((x) => x.id === a.id));
      assert.ok(!after.some((x) => x.id === b.id));
      await assert.rejects(store.append(b, body(randomBytes(10))), UploadNotFoundError);
    });

    it('list: committed blobs in digest order, paged by `after` and `limit`', async ({ store }) => {
      const digests: Digest[] = [];
      const sizes = new Map<Digest, number>();
      for (let i = 0; i < 7; i++) {
        const data = randomBytes(10 + i);
        const d = await push(store, data);
        digests.push(d);
        sizes.set(d, data.length);
      }
      // An upload in progress is not a blob.
      await store.append(await store.begin(randomUUID()), body(randomBytes(50)));
      digests.sort();
      const seen: Digest[] = [];
      let after: Digest | undefined;
      for (;;) {
        const page = await store.list(after, 3);
        assert.ok(page.length <= 3);
        for (const info of page) assert.equal(info.size, sizes.get(info.digest));
        seen.push(...page.map((p) => p.digest));
        if (page.length < 3) break;
        after = page[page.length - 1]!.digest;
      }
      assert.deepEqual(seen, digests);
      assert.deepEqual((await store.list(undefined, 100)).map((b) => b.digest), digests);
      assert.deepEqual((await store.list(digests[6], 10)).length, 0);
    });

    it('list: each blob says when it was written (modified), so a scrub can leave fresh bytes alone', async ({ store }) => {
      // Whole seconds: S3 reports LastModified to the second, filesystems may round too.
      const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
      const digest = await push(store, randomBytes(100));
      const after = Date.now() + 1000;
      const [listed] = await store.list(undefined, 10);
      assert.equal(listed?.digest, digest);
      assert.ok(listed.modified instanceof Date, 'modified is given');
      const t = listed.modified.getTime();
      assert.ok(t >= before && t <= after, `modified ${listed.modified.toISOString()} is the commit's time (${new Date(before).toISOString()} .. ${new Date(after).toISOString()})`);
    });

    it('delete removes a blob and is idempotent', async ({ store }) => {
      const data = randomBytes(2000);
      const digest = await push(store, data);
      const other = await push(store, randomBytes(3000));
      await store.delete(digest);
      await store.delete(digest);
      await store.delete(sha256(Buffer.from('never stored')));
      assert.equal(await store.stat(digest), undefined);
      await assert.rejects(store.open(digest), BlobNotFoundError);
      assert.deepEqual((await store.list(undefined, 10)).map((b) => b.digest), [other]);
    });

    it('deleteMany removes exactly the blobs named, and is idempotent', async ({ store }) => {
      const doomed = await Promise.all(Array.from({ length: 5 }, (_, i) => push(store, randomBytes(100 + i))));
      const kept = await push(store, randomBytes(99));
      const never = sha256(Buffer.from('never stored either'));
      await store.deleteMany([...doomed, never]);
      await store.deleteMany(doomed);
      await store.deleteMany([]);
      for (const digest of doomed) assert.equal(await store.stat(digest), undefined, `${digest} is gone`);
      assert.deepEqual((await store.list(undefined, 10)).map((b) => b.digest), [kept]);
    });

    it('uploads of different ids run concurrently without mixing their bytes', async ({ store }) => {
      const datas = Array.from({ length: 4 }, (_, i) => [randomBytes(part / 2 + i), randomBytes(part + i), randomBytes(777 + i)]);
      const states = await Promise.all(datas.map(() => store.begin(randomUUID())));
      assert.equal(new Set(states.map((s) => s.id)).size, 4);
      // Every upload settles before anything is checked: none outlives the test.
      const results = await Promise.allSettled(datas.map(async (pieces, i) => store.commit(await appendAll(store, states[i]!, pieces), sha256(Buffer.concat(pieces)))));
      for (const [i, pieces] of datas.entries()) {
        const data = Buffer.concat(pieces);
        assert.deepEqual(results[i], { status: 'fulfilled', value: { digest: sha256(data), size: data.length } });
        assert.ok((await readAll(await store.open(sha256(data)))).equals(data));
      }
    });

    it('an upload id that is not one the core makes never reaches the storage', async ({ store }) => {
      await assert.rejects(store.begin('../blobs/sha256'), UploadNotFoundError);
      await assert.rejects(store.append({ id: '../../etc', offset: 0 }, body(Buffer.from('x'))), UploadNotFoundError);
    });

    it('ping answers for storage that is there', async ({ store }) => {
      await store.ping();
    });
  });
}
