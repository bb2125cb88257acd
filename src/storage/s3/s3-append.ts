// One append to an S3 upload: a request body cut into multipart parts.
//
// S3 parts must be at least 5 MiB except the last, and a PATCH may be any size, so the bytes
// after the last full part (the tail, under 5 MiB) are kept as an object of their own
// (uploads/<id>/tail-<offset>-<nonce>) and read back by the next append to start its first part. The
// bytes are gathered into part-sized buffers in shared memory; a worker hashes a full buffer in
// place (sha256-pool.ts: the upload's running hash and the part's own, which SigV4 signs), then
// it is uploaded as the next part while the next one fills: at most
// PARTS_IN_FLIGHT parts are on their way, which bounds the memory of an append and pushes back
// on the client when S3 is slower than it.
//
// Nothing the incoming state refers to is changed, so a state whose successor was never saved
// (a crash, a failed request) stays valid: new parts get numbers after its parts (overwriting
// parts of the lost append, which no kept state lists: S3 refuses to complete with a part whose
// ETag is not the one uploaded last) and the new tail gets a key of its own.
import { Buffer } from 'node:buffer';
import type { Readable } from 'node:stream';
import { AppendInterruptedError, BodyTooLargeError, type UploadState } from '../blob-store.js';
import { bodyBytesReceived } from '../young-gc.js';
import type { Sha256Pool } from './sha256-pool.js';
import { MAX_PARTS, MIN_PART, newTailName, parseUpload, uploadState, type S3Part } from './s3-upload-state.js';

/** Parts on their way to S3 (and to the hasher) while the next one fills. */
const PARTS_IN_FLIGHT = 2;
/** Idle part buffers kept for the next appends. */
const IDLE_BUFFERS = 4;

/** What an append needs from the bucket; the store implements it with its error mapping. */
export interface AppendTarget {
  createMultipart(id: string): Promise<string>;
  /** `sha256` (hex) is the payload hash SigV4 signs; undefined: the SDK computes it. */
  uploadPart(id: string, uploadId: string, n: number, bytes: Buffer, sha256: string | undefined): Promise<string>;
  putTail(id: string, name: string, bytes: Buffer): Promise<void>;
  /** Reads the tail object into `into` (exactly its length); UploadNotFoundError when it is gone. */
  readTail(id: string, name: string, into: Buffer): Promise<void>;
  deleteTail(id: string, name: string): Promise<void>;
}

/**
 * Part sizes: `base` for the first 2,500 parts, then doubling every 2,500, so the 10,000 parts
 * S3 allows hold (with the default 8 MiB) 290 GiB, while the buffers of ordinary blobs stay small.
 */
export function partSize(base: number, n: number): number {
  return base * 2 ** Math.floor((n - 1) / 2500);
}

/** The largest upload those parts hold: 2,500 parts of each of base, 2 base, 4 base and 8 base. */
export function maxUploadBytes(base: number): number {
  return 2500 * base * (1 + 2 + 4 + 8);
}

/** Part buffers in shared memory (the hash worker reads them in place), reused across appends. */
export class PartBuffers {
  private readonly idle: Buffer[] = [];

  constructor(readonly base: number) {}

  take(size: number): Buffer {
    if (size === this.base) {
      const buf = this.idle.pop();
      if (buf) return buf;
    }
    return Buffer.from(new SharedArrayBuffer(size));
  }

  give(buf: Buffer): void {
    if (buf.length === this.base && this.idle.length < IDLE_BUFFERS) this.idle.push(buf);
  }
}

export async function appendToUpload(
  target: AppendTarget,
  hasher: Sha256Pool,
  buffers: PartBuffers,
  state: UploadState,
  body: Readable,
  maxBytes: number | undefined,
): Promise<UploadState> {
  const { id } = state;
  const data = parseUpload(state);
  // The state we were given was kept, so the tail its predecessor replaced is garbage now.
  const staleGone = data.staleTail !== undefined ? target.deleteTail(id, data.staleTail).catch(() => undefined) : undefined;

  // The running hash: a chain of worker calls, each from the state the previous one answered.
  // A state this build of hash-wasm cannot load (another version wrote it) or a failed worker
  // loses the hash (null): commit then reads the bytes back instead.
  let hash: Promise<Uint8Array | undefined | null> = Promise.resolve(decodeHash(data.sha256));
  const feed = (bytes: Uint8Array): void => {
    hash = hash.then((before) => hasher.update(before, bytes).catch(() => null));
  };
  /** Feeds a part's new bytes to the running hash; answers the part's own sha256 (undefined if the worker failed). */
  const feedPart = (part: Uint8Array, skip: number): Promise<string | undefined> => {
    const done = hash.then((before) => hasher.part(before, part, skip));
    hash = done.then(
      (r) => r.state,
      () => null,
    );
    return done.then(
      (r) => r.sha256,
      () => undefined,
    );
  };

  const parts: S3Part[] = [...data.parts];
  let uploadId = data.uploadId;
  let nextPart = parts.length + 1;
  let received = 0;
  const inflight: Array<Promise<void>> = [];
  let storageFailure: unknown;

  let buf = buffers.take(partSize(buffers.base, nextPart));
  let fill = 0;
  /** Bytes at the start of `buf` that are already in the hash (the tail read back). */
  let hashed = 0;
  if (data.tail > 0) {
    try {
      await target.readTail(id, data.tailName!, buf.subarray(0, data.tail));
    } catch (err) {
      buffers.give(buf);
      throw err;
    }
    fill = hashed = data.tail;
  }

  /** Sends buf[0, length) as the next part and starts a fresh buffer. */
  const cut = async (length: number): Promise<void> => {
    try {
      if (nextPart > MAX_PARTS) throw new BodyTooLargeError(maxUploadBytes(buffers.base));
      const part = buf;
      const bytes = part.subarray(0, length);
      const partSha256 = feedPart(bytes, hashed);
      uploadId ??= await target.createMultipart(id);
      const n = nextPart++;
      const upload = uploadId;
      // The part goes once its sha256 is known: SigV4 signs it, and the worker computed it.
      const uploaded = partSha256.then((sha256) => target.uploadPart(id, upload, n, bytes, sha256)).then((etag) => void parts.push({ n, etag, size: length }));
      const done = uploaded.finally(() => buffers.give(part));
      done.catch(() => undefined); // awaited below or at the end; not an unhandled rejection meanwhile
      inflight.push(done);
      buf = buffers.take(partSize(buffers.base, nextPart));
      fill = hashed = 0;
      while (inflight.length >= PARTS_IN_FLIGHT) await inflight.shift();
    } catch (err) {
      storageFailure = err;
      throw err;
    }
  };

  let interrupted: unknown;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (maxBytes !== undefined && received > maxBytes) throw new BodyTooLargeError(maxBytes);
      for (let at = 0; at < chunk.length; ) {
        const n = chunk.copy(buf, fill, at);
        fill += n;
        at += n;
        if (fill === buf.length) await cut(fill);
      }
      bodyBytesReceived(chunk.length);
    }
  } catch (err) {
    if (err === storageFailure || err instanceof BodyTooLargeError) {
      await abandon(inflight, buffers, buf);
      throw err;
    }
    interrupted = err; // the body broke off: keep what arrived, so the client can resume
  }

  const offset = state.offset + received;
  let tail = 0;
  // An append that adds nothing keeps the tail it found.
  const tailName = offset === state.offset ? data.tailName : newTailName(offset);
  try {
    if (fill >= MIN_PART) await cut(fill);
    else {
      tail = fill;
      if (fill > hashed) feed(buf.subarray(hashed, fill));
    }
    while (inflight.length > 0) await inflight.shift();
    if (tail > 0 && tailName !== data.tailName) await target.putTail(id, tailName!, buf.subarray(0, tail));
  } catch (err) {
    await abandon(inflight, buffers, buf);
    throw err;
  }
  const sha256 = await hash;
  buffers.give(buf);
  await staleGone;
  parts.sort((a, b) => a.n - b.n);
  const next = uploadState(id, offset, {
    uploadId,
    parts,
    tail,
    tailName: tail > 0 ? tailName : undefined,
    staleTail: data.tailName !== tailName ? data.tailName : undefined,
    sha256: sha256 === null ? null : sha256 === undefined ? undefined : Buffer.from(sha256).toString('base64'),
  });
  if (interrupted !== undefined) throw new AppendInterruptedError(next, interrupted);
  return next;
}

/** Waits for the parts on their way (their buffers come back), after a failure. */
async function abandon(inflight: Array<Promise<void>>, buffers: PartBuffers, buf: Buffer): Promise<void> {
  await Promise.allSettled(inflight);
  buffers.give(buf);
}

export function decodeHash(sha256: string | null | undefined): Uint8Array | undefined | null {
  if (sha256 === null || sha256 === undefined) return sha256;
  return new Uint8Array(Buffer.from(sha256, 'base64'));
}

