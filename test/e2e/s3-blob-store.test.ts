// What the S3 blob store does beyond the contract's suite, seen in the bucket of a real Ceph
// radosgw: its key layout under a prefix, nothing under a blob key before the commit and no
// upload debris after it, replaced tails cleaned up as the upload goes, the copy by parts for
// objects above the copy limit, commit without the hash state, presigned redirects, and the
// errors an operator sees for a wrong secret, a missing bucket, an endpoint that is down and a
// full quota.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { StorageFullError, StorageUnavailableError, DigestMismatchError, type UploadState } from '../../src/storage/blob-store.js';
import type { S3DriverConfig } from '../../src/storage/config.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3/s3-blob-store.js';
import { body, sha256 } from '../conformance/blob-store.js';
import { freePort } from '../helpers/ports.js';
import { startRadosgw, type RunningRadosgw } from '../helpers/radosgw.js';

const MiB = 1024 * 1024;

let rgw: RunningRadosgw;
let raw: S3Client;
const stores: S3BlobStore[] = [];

before(async () => {
  rgw = await startRadosgw();
  raw = new S3Client(rgw.clientConfig());
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  raw?.destroy();
  await rgw?.stop();
});

function config(bucket: string, extra: Partial<S3DriverConfig> = {}): S3DriverConfig {
  return rgw.driverConfig(bucket, extra);
}

async function open(cfg: S3DriverConfig, options: S3BlobStoreOptions = { partSize: 5 * MiB }): Promise<S3BlobStore> {
  const store = await S3BlobStore.open(cfg, options);
  stores.push(store);
  return store;
}

async function keys(bucket: string): Promise<string[]> {
  return ((await raw.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
}

async function multipartKeys(bucket: string): Promise<string[]> {
  return ((await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!);
}

describe('S3 blob store on radosgw', () => {
  test('keys live under the prefix; nothing is under blobs/ before the commit, nothing of the upload after it', async () => {
    const bucket = await rgw.createBucket();
    const store = await open(config(bucket, { prefix: '/team/registry/' }));
    const data = randomBytes(11 * MiB + 5);
    let state = await store.begin(randomUUID());
    state = await store.append(state, body(data.subarray(0, 6 * MiB)));
    state = await store.append(state, body(data.subarray(6 * MiB)));
    const during = await keys(bucket);
    assert.ok(during.length > 0 && during.every((k) => k.startsWith(`team/registry/uploads/${state.id}/tail-`)), during.join(', '));
    assert.deepEqual(await multipartKeys(bucket), [`team/registry/uploads/${state.id}/data`]);
    const digest = sha256(data);
    await store.commit(state, digest);
    const hex = digest.slice('sha256:'.length);
    assert.deepEqual(await keys(bucket), [`team/registry/blobs/sha256/${hex.slice(0, 2)}/${hex}`]);
    assert.deepEqual(await multipartKeys(bucket), []);
  });

  test('each append deletes the tail its predecessor replaced: at most two tails exist at a time', async () => {
    const bucket = await rgw.createBucket();
    const store = await open(config(bucket));
    let state = await store.begin(randomUUID());
    const pieces: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      const piece = randomBytes(300_000);
      pieces.push(piece);
      state = await store.append(state, body(piece));
      const tails = (await keys(bucket)).filter((k) => k.includes('/tail-'));
      assert.ok(tails.length <= 2, `after append ${i + 1}: ${tails.join(', ')}`);
      assert.ok(tails.includes(`uploads/${state.id}/tail-${String(state.driver?.tailName)}`), `the tail the state names, among ${tails.join(', ')}`);
    }
    await store.commit(state, sha256(Buffer.concat(pieces)));
    assert.equal((await keys(bucket)).length, 1);
  });

  test('objects above the copy limit reach their blob key by a copy in parts', async () => {
    const bucket = await rgw.createBucket();
    const store = await open(config(bucket), { partSize: 5 * MiB, copyLimit: 6 * MiB });
    const data = randomBytes(13 * MiB);
    const state = await store.append(await store.begin(randomUUID()), body(data));
    const digest = sha256(data);
    await store.commit(state, digest);
    const hex = digest.slice('sha256:'.length);
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: `blobs/sha256/${hex.slice(0, 2)}/${hex}` }));
    assert.equal(head.ContentLength, data.length);
    assert.match(head.ETag ?? '', /-3"$/, 'three copied parts of 6, 6 and 1 MiB');
    const read: Buffer[] = [];
    for await (const chunk of await store.open(digest)) read.push(chunk as Buffer);
    assert.ok(Buffer.concat(read).equals(data));
  });

  test('a hash state this build cannot load (another version wrote it) or none: commit reads the bytes back and still verifies', async () => {
    const bucket = await rgw.createBucket();
    const store = await open(config(bucket));
    for (const [what, lost] of [['foreign', Buffer.from('not a hash-wasm state').toString('base64')], ['lost', null]] as const) {
      const head = randomBytes(6 * MiB);
      const tail = randomBytes(1000);
      let state = await store.append(await store.begin(randomUUID()), body(head));
      state = { ...state, driver: { ...state.driver, sha256: lost } } as UploadState;
      state = await store.append(state, body(tail)); // continues without a hash
      const data = Buffer.concat([head, tail]);
      await assert.rejects(store.commit(state, sha256(Buffer.from('other'))), DigestMismatchError, what);
      assert.deepEqual(await store.commit(state, sha256(data)), { digest: sha256(data), size: data.length }, what);
    }
  });

  test('redirects: absent unless enabled; a presigned URL serves the blob until it expires', async () => {
    const bucket = await rgw.createBucket();
    assert.equal((await open(config(bucket))).redirectUrl, undefined);
    const store = await open(config(bucket, { redirect: { enabled: true, ttlSeconds: 600 } }));
    const data = randomBytes(100_000);
    await store.commit(await store.append(await store.begin(randomUUID()), body(data)), sha256(data));
    const url = await store.redirectUrl!(sha256(data), 600);
    assert.ok(url?.startsWith(`${rgw.endpoint}/${bucket}/blobs/sha256/`), url);
    const res = await fetch(url!);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    const shortLived = await store.redirectUrl!(sha256(data), 1);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await fetch(shortLived!)).status, 403);
  });

  test('a wrong secret, a missing bucket and a dead endpoint: StorageUnavailableError that says which', async () => {
    const bucket = await rgw.createBucket();
    const digest = sha256(Buffer.from('x'));
    const wrong = await open(config(bucket, { credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: 'not-the-secret' } }));
    await assert.rejects(wrong.ping(), (e: unknown) => e instanceof StorageUnavailableError && /refused the credentials/.test(e.message) && !/not-the-secret/.test(e.message));
    await assert.rejects(wrong.stat(digest), StorageUnavailableError);
    const missing = await open(config('no-such-bucket-here'));
    await assert.rejects(missing.ping(), (e: unknown) => e instanceof StorageUnavailableError && /bucket no-such-bucket-here does not exist/.test(e.message));
    const dead = await open(config(bucket, { endpoint: `http://127.0.0.1:${await freePort()}` }));
    const started = Date.now();
    await assert.rejects(dead.ping(), (e: unknown) => e instanceof StorageUnavailableError && /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/.test(e.message));
    await assert.rejects(dead.append(await dead.begin(randomUUID()), body(randomBytes(100))), StorageUnavailableError);
    assert.ok(Date.now() - started < 15_000, 'a dead endpoint fails within the retries, not after a hang');
  });

  test('a full quota is StorageFullError, and the upload stays where it was', async () => {
    const bucket = await rgw.createBucket();
    await rgw.admin(['quota', 'set', '--quota-scope=bucket', `--bucket=${bucket}`, '--max-size=1048576']);
    await rgw.admin(['quota', 'enable', '--quota-scope=bucket', `--bucket=${bucket}`]);
    const store = await open(config(bucket));
    const small = randomBytes(1000);
    const state = await store.append(await store.begin(randomUUID()), body(small));
    await assert.rejects(store.append(state, body(randomBytes(2 * MiB))), StorageFullError);
    assert.deepEqual(await store.commit(state, sha256(small)), { digest: sha256(small), size: small.length });
  });
});
