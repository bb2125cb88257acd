// The BlobStore contract on an S3 bucket (AWS S3, Ceph radosgw, MinIO, ...), for replicas that
// share their storage: s3-layout.ts draws the keys, s3-append.ts cuts request bodies into
// multipart parts, s3-upload-state.ts is the plain-data state that lets any replica continue or
// commit an upload another one started.
//
// Commit: the multipart upload is completed at uploads/<id>/data, then copied to its blob key and
// the upload removed, since the digest is known only at the end (CNCF Distribution pays the same
// copy in its Move). radosgw copies within a bucket without moving data (256 MiB in ~40 ms).
// An upload that never filled a part is one tail object, copied to the blob key the same way.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { digestAlgorithm, type Digest } from '../../oci/names.js';
import {
  BlobNotFoundError,
  DigestMismatchError,
  UploadNotFoundError,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type ListedBlob,
  type UploadState,
} from '../blob-store.js';
import type { S3DriverConfig } from '../config.js';
import { appendToUpload, decodeHash, PartBuffers, type AppendTarget } from './s3-append.js';
import { codeOf, isNoSuchUpload, isNotFound, statusOf, storageError } from './s3-errors.js';
import { S3Layout } from './s3-layout.js';
import { emptyUpload, parseUpload, uploadState, type S3Part, type S3UploadData } from './s3-upload-state.js';
import { Sha256Pool } from './sha256-pool.js';

/** Tuning, for tests and benchmarks; the defaults are what production uses. */
export interface S3BlobStoreOptions {
  /** Size of the parts uploads are cut into (at least 5 MiB): memory per append is about 3 of them. */
  partSize?: number;
  /** Objects larger than this are copied part by part (S3's CopyObject stops at 5 GiB). */
  copyLimit?: number;
  /** Threads hashing large bodies. */
  hashWorkers?: number;
}

const PART_SIZE = 8 * 1024 * 1024;
const COPY_LIMIT = 5 * 1024 ** 3;
/** Ranges of a part-by-part copy, and how many run at once. */
const COPY_PART = 1024 ** 3;
const COPIES_IN_FLIGHT = 4;
/** S3's largest page of a listing or batch of a delete. */
const PAGE = 1000;

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  /** Present when presigned redirects are enabled (storage.driver.redirect.enabled). */
  readonly redirectUrl?: (digest: Digest, ttlSeconds: number) => Promise<string | undefined>;

  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly layout: S3Layout;
  private readonly where: { endpoint: string; bucket: string };
  private readonly hasher: Sha256Pool;
  private readonly buffers: PartBuffers;
  private readonly copyLimit: number;

  private constructor(config: S3DriverConfig, options: S3BlobStoreOptions) {
    this.bucket = config.bucket;
    this.layout = new S3Layout(config.prefix);
    this.where = { endpoint: config.endpoint ?? `AWS S3 (${config.region})`, bucket: config.bucket };
    this.client = new S3Client(clientConfig(config));
    this.hasher = new Sha256Pool(options.hashWorkers);
    this.buffers = new PartBuffers(Math.max(options.partSize ?? PART_SIZE, 5 * 1024 * 1024));
    this.copyLimit = options.copyLimit ?? COPY_LIMIT;
    if (config.redirect.enabled) {
      // Signing only: whether the blob exists is the caller's business (it has stat()).
      this.redirectUrl = async (digest, ttlSeconds) =>
        getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(digest) }), { expiresIn: ttlSeconds });
    }
  }

  /** Makes the client; no request yet (ping() is the readiness check). */
  static async open(config: S3DriverConfig, options: S3BlobStoreOptions = {}): Promise<S3BlobStore> {
    return new S3BlobStore(config, options);
  }

  async close(): Promise<void> {
    this.client.destroy();
    await this.hasher.close();
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // HEAD answers have no body, so no error code: a bare 403 may be a wrong secret or a
      // policy, a 404 a missing bucket. One GET tells which, for the message.
      const status = statusOf(err);
      if (status === 403 || status === 404) {
        await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 })).catch((detail: unknown) => {
          throw this.fail(detail);
        });
      }
      throw this.fail(err);
    }
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const size = await this.objectSize(this.layout.blobKey(digest));
    return size === undefined ? undefined : { digest, size };
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(digest), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return r.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      // A range past the end reads nothing, as a file read there does.
      if (statusOf(err) === 416) return Readable.from([]);
      throw this.fail(err);
    }
  }

  async delete(digest: Digest): Promise<void> {
    await this.deleteKeys([this.layout.blobKey(digest)]);
  }

  async deleteMany(digests: readonly Digest[]): Promise<void> {
    if (digests.length > 0) await this.deleteKeys(digests.map((d) => this.layout.blobKey(d)));
  }

  async list(after: Digest | undefined, limit: number): Promise<ListedBlob[]> {
    const out: ListedBlob[] = [];
    let startAfter = after ? this.layout.blobKey(after) : undefined;
    let token: string | undefined;
    while (out.length < limit) {
      const page = await this.guard(this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.layout.blobsPrefix,
          StartAfter: token ? undefined : startAfter,
          ContinuationToken: token,
          MaxKeys: Math.min(PAGE, limit - out.length),
        }),
      ));
      for (const object of page.Contents ?? []) {
        const digest = object.Key ? this.layout.digestOf(object.Key) : undefined;
        if (digest && out.length < limit) out.push({ digest, size: object.Size ?? 0, ...(object.LastModified ? { modified: object.LastModified } : {}) });
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
      startAfter = undefined;
    }
    return out;
  }

  /** Hashing a body on the event loop costs ~0.7 ms per MiB: bodies up to 1 MiB are worth it. */
  readonly wholeLimit = 1 << 20;

  async putWhole(expected: Digest, bytes: Buffer): Promise<BlobInfo> {
    const algorithm = digestAlgorithm(expected);
    const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (actual !== expected) throw new DigestMismatchError(expected, actual);
    // One PutObject: S3 makes an object visible only once it is whole. The same bytes already
    // there are simply written again (content-addressed), cheaper than asking first.
    await this.guard(this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(expected), Body: bytes, ContentLength: bytes.length })));
    return { digest: expected, size: bytes.length };
  }

  async begin(id: string): Promise<UploadState> {
    this.checkId(id);
    // No request: the first append makes what it needs (an upload that never gets a byte costs nothing).
    return uploadState(id, 0, emptyUpload());
  }

  async append(state: UploadState, body: Readable, options: { maxBytes?: number } = {}): Promise<UploadState> {
    this.checkId(state.id);
    return appendToUpload(this.appendTarget, this.hasher, this.buffers, state, body, options.maxBytes);
  }

  async commit(state: UploadState, expected: Digest): Promise<BlobInfo> {
    this.checkId(state.id);
    const data = parseUpload(state);
    const info = { digest: expected, size: state.offset };
    const blobKey = this.layout.blobKey(expected);
    const running = digestAlgorithm(expected) === 'sha256' ? await this.runningDigest(data) : undefined;
    let source: string | undefined;
    if (running !== undefined) {
      // The usual case: the hash came with the state, nothing is read back.
      if (running !== expected) throw new DigestMismatchError(expected, running);
      if (await this.objectSize(blobKey) !== undefined) {
        await this.dropUpload(state.id, data);
        return info;
      }
      source = await this.assemble(state.id, state.offset, data);
    } else {
      // sha512, or a hash lost on the way: the bytes are read back once, after assembling them.
      source = await this.assemble(state.id, state.offset, data);
      const actual = await this.digestOfObject(source, digestAlgorithm(expected));
      if (actual !== expected) throw new DigestMismatchError(expected, actual);
      if (await this.objectSize(blobKey) !== undefined) {
        await this.dropUpload(state.id, data);
        return info;
      }
    }
    if (source === undefined) await this.guard(this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: blobKey, Body: new Uint8Array(0) })));
    else await this.copy(source, blobKey, state.offset);
    await this.dropUpload(state.id, data);
    return info;
  }

  /**
   * Always true, with no request: a commit verifies the claimed digest against the hash state the
   * upload carries, so even an upload whose commit a crash interrupted (its parts already
   * assembled) commits correctly, and a part or tail that went makes the commit fail cleanly.
   */
  async uploadExists(): Promise<boolean> {
    return true;
  }

  async cancel(state: UploadState): Promise<void> {
    if (!this.layout.validUploadId(state.id)) return;
    let data: S3UploadData;
    try {
      data = parseUpload(state);
    } catch {
      // A state we cannot read: remove whatever the upload left by its id.
      await this.discardUpload(state.id);
      return;
    }
    await this.dropUpload(state.id, data);
  }

  async listUploads(): Promise<Array<{ id: string; modified: Date }>> {
    const latest = new Map<string, Date>();
    const seen = (id: string | undefined, at: Date | undefined) => {
      if (!id || !at) return;
      const known = latest.get(id);
      if (!known || known < at) latest.set(id, at);
    };
    for await (const object of this.objects(this.layout.uploadsPrefix)) seen(this.layout.uploadIdOf(object.key), object.modified);
    // A multipart upload shows when it began, not when a part last came (S3 keeps no such time):
    // callers keep the activity of uploads they know themselves.
    for await (const upload of this.multipartUploads(this.layout.uploadsPrefix)) seen(this.layout.uploadIdOf(upload.key), upload.initiated);
    return [...latest].map(([id, modified]) => ({ id, modified }));
  }

  async discardUpload(id: string): Promise<void> {
    if (!this.layout.validUploadId(id)) return;
    const prefix = this.layout.uploadPrefix(id);
    const keys: string[] = [];
    for await (const object of this.objects(prefix)) keys.push(object.key);
    await this.deleteKeys(keys);
    for await (const upload of this.multipartUploads(prefix)) await this.abort(upload.key, upload.uploadId);
  }

  // --- uploads -------------------------------------------------------------------------------

  private readonly appendTarget: AppendTarget = {
    createMultipart: async (id) => {
      const r = await this.guard(this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.layout.dataKey(id) })));
      if (!r.UploadId) throw this.fail(new Error('CreateMultipartUpload answered no UploadId'));
      return r.UploadId;
    },
    uploadPart: async (id, uploadId, n, bytes, sha256) => {
      const command = new UploadPartCommand({ Bucket: this.bucket, Key: this.layout.dataKey(id), UploadId: uploadId, PartNumber: n, Body: bytes, ContentLength: bytes.length });
      // A payload hash already in the request is what the signer signs (it hashes the body itself
      // otherwise: ~1.4 CPU-s per GiB on the event loop). S3 checks it against the bytes.
      if (sha256) command.middlewareStack.add(payloadHash(sha256), { step: 'build', name: 'minatoPayloadSha256' });
      try {
        const r = await this.client.send(command);
        if (!r.ETag) throw new Error('UploadPart answered no ETag');
        return r.ETag;
      } catch (err) {
        if (isNoSuchUpload(err)) throw new UploadNotFoundError(id);
        throw this.fail(err);
      }
    },
    putTail: async (id, name, bytes) => {
      await this.guard(this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.layout.tailKey(id, name), Body: bytes, ContentLength: bytes.length })));
    },
    readTail: async (id, name, into) => {
      let got = 0;
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.tailKey(id, name) }));
        for await (const chunk of r.Body as AsyncIterable<Buffer>) {
          if (got + chunk.length > into.length) throw new UploadNotFoundError(id);
          got += chunk.copy(into, got);
        }
      } catch (err) {
        if (err instanceof UploadNotFoundError) throw err;
        if (isNotFound(err)) throw new UploadNotFoundError(id);
        throw this.fail(err);
      }
      if (got !== into.length) throw new UploadNotFoundError(id);
    },
    deleteTail: async (id, name) => {
      await this.deleteKeys([this.layout.tailKey(id, name)]);
    },
  };

  /** The sha256 digest the state's hash gives, or undefined when the hash was lost. */
  private async runningDigest(data: S3UploadData): Promise<Digest | undefined> {
    const state = decodeHash(data.sha256);
    if (state === null) return undefined;
    try {
      return `sha256:${await this.hasher.digest(state)}`;
    } catch {
      return undefined; // saved by another build of hash-wasm
    }
  }

  /**
   * The key of one object holding all the upload's bytes (undefined for an empty upload): its
   * tail when it never filled a part, else its multipart upload completed at uploads/<id>/data.
   */
  private async assemble(id: string, offset: number, data: S3UploadData): Promise<string | undefined> {
    if (offset === 0) return undefined;
    if (!data.uploadId) {
      const tailKey = this.layout.tailKey(id, data.tailName!);
      if ((await this.objectSize(tailKey)) !== offset) throw new UploadNotFoundError(id);
      return tailKey;
    }
    const dataKey = this.layout.dataKey(id);
    const parts: S3Part[] = [...data.parts];
    try {
      if (data.tail > 0) {
        // The tail becomes the last part (the one part S3 lets be small), copied inside S3.
        const n = parts.length + 1;
        const r = await this.client.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key: dataKey, UploadId: data.uploadId, PartNumber: n, CopySource: this.copySource(this.layout.tailKey(id, data.tailName!)) }),
        );
        parts.push({ n, etag: r.CopyPartResult?.ETag ?? '', size: data.tail });
      }
      // radosgw answers an empty ETag here: nothing below needs it.
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: dataKey,
          UploadId: data.uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // Completed by an earlier attempt of this commit (it failed after, or the digest did not match).
      if (isNoSuchUpload(err) && (await this.objectSize(dataKey)) === offset) return dataKey;
      // InvalidPart: a part is no longer the one this state counted (a raced retry overwrote it);
      // S3 refuses to complete rather than store other bytes, and so does this upload.
      if (isNoSuchUpload(err) || isNotFound(err) || codeOf(err) === 'InvalidPart') throw new UploadNotFoundError(id);
      throw this.fail(err);
    }
    return dataKey;
  }

  /** Removes what a known upload state holds (idempotent); leftovers of lost appends go with the purge. */
  private async dropUpload(id: string, data: S3UploadData): Promise<void> {
    if (data.uploadId) await this.abort(this.layout.dataKey(id), data.uploadId);
    const keys: string[] = [];
    if (data.uploadId) keys.push(this.layout.dataKey(id));
    if (data.tailName !== undefined) keys.push(this.layout.tailKey(id, data.tailName));
    if (data.staleTail !== undefined) keys.push(this.layout.tailKey(id, data.staleTail));
    await this.deleteKeys(keys);
  }

  private async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (!isNoSuchUpload(err) && !isNotFound(err)) throw this.fail(err);
    }
  }

  // --- objects -------------------------------------------------------------------------------

  private async objectSize(key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err);
    }
  }

  private async digestOfObject(key: string | undefined, algorithm: 'sha256' | 'sha512'): Promise<string> {
    const hash = createHash(algorithm);
    if (key !== undefined) {
      const r = await this.guard(this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      for await (const chunk of r.Body as AsyncIterable<Buffer>) hash.update(chunk);
    }
    return `${algorithm}:${hash.digest('hex')}`;
  }

  /** Copies inside S3 (nothing passes through this process); part by part above copyLimit. */
  private async copy(source: string, dest: string, size: number): Promise<void> {
    if (size <= this.copyLimit) {
      await this.guard(this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: dest, CopySource: this.copySource(source) })));
      return;
    }
    const { UploadId } = await this.guard(this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: dest })));
    const ranges: Array<{ n: number; start: number; end: number }> = [];
    const step = Math.min(COPY_PART, this.copyLimit);
    for (let start = 0, n = 1; start < size; start += step, n++) ranges.push({ n, start, end: Math.min(size, start + step) - 1 });
    const etags: string[] = [];
    try {
      const queue = [...ranges];
      const worker = async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const copied = await this.guard(this.client.send(
            new UploadPartCopyCommand({ Bucket: this.bucket, Key: dest, UploadId, PartNumber: r.n, CopySource: this.copySource(source), CopySourceRange: `bytes=${r.start}-${r.end}` }),
          ));
          etags[r.n - 1] = copied.CopyPartResult?.ETag ?? '';
        }
      };
      await Promise.all(Array.from({ length: COPIES_IN_FLIGHT }, worker));
      await this.guard(this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: dest, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }),
      ));
    } catch (err) {
      await this.abort(dest, UploadId!).catch(() => undefined);
      throw err;
    }
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    if (keys.length === 1) {
      await this.guard(this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys[0] })));
      return;
    }
    for (let i = 0; i < keys.length; i += PAGE) {
      const batch = keys.slice(i, i + PAGE);
      // DeleteObjects is the one call S3 insists on a checksum for: the SDK adds it (WHEN_REQUIRED).
      const r = await this.guard(this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw this.fail(Object.assign(new Error(`${failed[0]!.Key}: ${failed[0]!.Message}`), { Code: failed[0]!.Code }));
    }
  }

  private async *objects(prefix: string): AsyncGenerator<{ key: string; modified: Date | undefined }> {
    let token: string | undefined;
    do {
      const page = await this.guard(this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, modified: o.LastModified };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async *multipartUploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string; initiated: Date | undefined }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.guard(this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })));
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated };
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  /** A request whose every failure is the storage's (no "not found" expected). */
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      throw this.fail(err);
    }
  }

  private fail(err: unknown): Error {
    return storageError(err, this.where);
  }

  private checkId(id: string): void {
    if (!this.layout.validUploadId(id)) throw new UploadNotFoundError(id);
  }
}

/** Middleware that puts a precomputed x-amz-content-sha256 on the request before it is signed. */
function payloadHash(sha256: string) {
  return <A, R>(next: (args: A) => Promise<R>) =>
    async (args: A): Promise<R> => {
      (args as { request: { headers: Record<string, string> } }).request.headers['x-amz-content-sha256'] = sha256;
      return next(args);
    };
}

function clientConfig(config: S3DriverConfig): S3ClientConfig {
  return {
    region: config.region,
    endpoint: config.endpoint,
    // Self-hosted S3 (radosgw, MinIO) rarely has the wildcard DNS that host-style names need.
    forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
    // Unset: the SDK's chain (AWS_ACCESS_KEY_ID..., profiles, web identity, instance roles).
    credentials: config.credentials,
    // The SDK's default since 3.729 sends stream bodies aws-chunked with a CRC32 trailer, which
    // radosgw 16 refuses (411) and other S3 servers of its age store framing and all.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dead endpoint fails fast instead of hanging a request; a stalled transfer after 2 min.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
  };
}


