// The filesystem blob store with and without direct I/O: uploads whose chunks end mid-block,
// resumption by a new store instance (a restart), a body cut off half-way, and reads of ranges
// that start mid-block, all checked byte for byte against the digest.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { BlobReader } from '../../src/storage/blob-store.js';
import { AppendInterruptedError, DigestMismatchError } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/filesystem/fs-blob-store.js';
import type { Digest } from '../../src/oci/names.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'minato-store-'));
  dirs.push(dir);
  return dir;
}

function digestOf(data: Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** A request body arriving in socket-sized pieces. */
function body(data: Buffer, piece = 64 * KiB): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) pieces.push(data.subarray(i, i + piece));
  return Readable.from(pieces);
}

async function readAll(reader: BlobReader, start: number, end: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let pos = start; pos <= end; ) {
    const chunk = await reader.read(pos, end - pos + 1);
    assert.ok(chunk.length > 0, `read at ${pos} returned nothing`);
    out.push(Buffer.from(chunk)); // the reader reuses its buffers
    pos += chunk.length;
  }
  await reader.close();
  return Buffer.concat(out);
}

/** Whether the filesystem of the temp directory accepts O_DIRECT at all (tmpfs before 6.6 does not). */
function filesystemHasDirectIO(): boolean {
  const file = path.join(os.tmpdir(), `minato-odirect-${process.pid}`);
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

for (const directIO of [true, false]) {
  describe(`filesystem blob store, directIO ${directIO ? 'on' : 'off'}`, () => {
    const skip = directIO && !filesystemHasDirectIO() ? `${os.tmpdir()} does not support O_DIRECT` : false;
    test('direct I/O is used exactly when asked for', { skip }, async () => {
      const store = await FsBlobStore.open(await tempRoot(), { directIO });
      assert.equal(store.direct !== undefined, directIO);
      await store.close();
    });

    test('chunks of every awkward size add up to the exact blob', async () => {
      const store = await FsBlobStore.open(await tempRoot(), { directIO });
      // Small then large then tiny then large: chunk ends fall mid-block, on a block boundary,
      // and the small path and the large path hand over in both directions.
      const sizes = [100 * KiB + 3, 3 * MiB + 17, 5, 4096 - 22, 2 * MiB, 300 * KiB + 1, 1];
      const data = randomBytes(sizes.reduce((a, b) => a + b));
      let state = await store.begin(randomUUID());
      for (const size of sizes) {
        const before = state.offset;
        state = await store.append(state, body(data.subarray(before, before + size), 7 * KiB + 5));
        assert.equal(state.offset, before + size);
      }
      const digest = digestOf(data);
      assert.deepEqual(await store.commit(state, digest), { digest, size: data.length });
      assert.ok(Buffer.compare(await readAll(await store.openReader(digest), 0, data.length - 1), data) === 0);
      // A range starting and ending mid-block.
      const [start, end] = [4096 * 300 + 123, data.length - 4000];
      assert.ok(Buffer.compare(await readAll(await store.openReader(digest), start, end), data.subarray(start, end + 1)) === 0);
      await store.close();
    });

    test('a wrong digest is refused and the upload kept for another try', async () => {
      const store = await FsBlobStore.open(await tempRoot(), { directIO });
      const data = randomBytes(2 * MiB + 999);
      const state = await store.append(await store.begin(randomUUID()), body(data));
      await assert.rejects(store.commit(state, digestOf(Buffer.from('other'))), DigestMismatchError);
      assert.equal((await store.commit(state, digestOf(data))).size, data.length);
      await store.close();
    });

    test('a restarted store resumes an upload where the file ends', async () => {
      const root = await tempRoot();
      const data = randomBytes(3 * MiB + 4097);
      const id = randomUUID();
      const first = await FsBlobStore.open(root, { directIO });
      const half = 1 * MiB + 511;
      const saved = await first.append(await first.begin(id), body(data.subarray(0, half)));
      // An append whose new state was never saved (a crash): its bytes are not acknowledged.
      await first.append(saved, body(randomBytes(777)));
      await first.close();

      const second = await FsBlobStore.open(root, { directIO });
      const state = await second.append(saved, body(data.subarray(half)));
      assert.equal((await second.commit(state, digestOf(data))).size, data.length);
      assert.ok(Buffer.compare(await readAll(await second.openReader(digestOf(data)), 0, data.length - 1), data) === 0);
      await second.close();
    });

    test('a body cut off half-way keeps what arrived, and the upload resumes from there', async () => {
      const store = await FsBlobStore.open(await tempRoot(), { directIO });
      const data = randomBytes(4 * MiB);
      const started = await store.begin(randomUUID());
      const cut = 2 * MiB + 1234;
      const broken = new Readable({
        read() {
          this.push(data.subarray(0, cut));
          this.destroy(new Error('connection reset'));
        },
      });
      const err = await store.append(started, broken).then(
        () => assert.fail('the cut body was accepted'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppendInterruptedError && /connection reset/.test((err.cause as Error).message));
      assert.equal(err.state.offset, cut, 'every byte that arrived is kept');
      const state = await store.append(err.state, body(data.subarray(cut)));
      assert.equal((await store.commit(state, digestOf(data))).size, data.length);
      await store.close();
    });
  });
}
