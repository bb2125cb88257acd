// The S3 driver's part of an UploadState (UploadState.driver): everything another replica needs
// to continue or commit the upload, as plain JSON. It comes back from the metadata store, so it
// is parsed, never trusted as typed.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { UploadNotFoundError, UploadOffsetError, type UploadState } from '../blob-store.js';

/** A fresh tail object name for the bytes up to `offset`. */
export function newTailName(offset: number): string {
  return `${offset}-${randomBytes(4).toString('hex')}`;
}

/** S3's limits: parts of at least 5 MiB except the last, at most 10,000 of them. */
export const MIN_PART = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

const partSchema = z.strictObject({
  /** Part number in the multipart upload, 1-based. */
  n: z.number().int().min(1).max(MAX_PARTS),
  etag: z.string().min(1),
  size: z.number().int().min(MIN_PART),
});

const tailNameSchema = z.string().regex(/^[0-9]+-[0-9a-f]{8}$/);

const driverSchema = z.strictObject({
  /** The multipart upload at uploads/<id>/data, made by the first append that filled a part. */
  uploadId: z.string().min(1).optional(),
  parts: z
    .array(partSchema)
    .max(MAX_PARTS)
    .refine((parts) => parts.every((p, i) => p.n === i + 1), 'parts numbered 1, 2, 3, ...'),
  /** Bytes after the parts, in the object uploads/<id>/tail-<tailName>. */
  tail: z.number().int().min(0).max(MIN_PART - 1),
  /**
   * Names the tail object: the offset after it and a nonce of the append that wrote it, so two
   * appends raced from one state (a client's retry) never write the same tail object.
   */
  tailName: tailNameSchema.optional(),
  /** A tail object the last append replaced; deleted by the next call, which shows the newer state was kept. */
  staleTail: tailNameSchema.optional(),
  /** hash-wasm's saved sha256 state after `offset` bytes (base64); absent at 0; null when lost, then commit reads the bytes back. */
  sha256: z.string().nullable().optional(),
});

export type S3Part = z.output<typeof partSchema>;
export type S3UploadData = z.output<typeof driverSchema>;

export function emptyUpload(): S3UploadData {
  return { parts: [], tail: 0 };
}

/** The driver data of a state, checked against its offset. */
export function parseUpload(state: UploadState): S3UploadData {
  const parsed = driverSchema.safeParse(state.driver ?? emptyUpload());
  if (!parsed.success) throw new UploadNotFoundError(state.id);
  const data = parsed.data;
  const stored = data.parts.reduce((sum, p) => sum + p.size, 0) + data.tail;
  if (stored !== state.offset) throw new UploadOffsetError(stored, state.offset);
  if ((data.parts.length > 0 && !data.uploadId) || (data.tail > 0) !== (data.tailName !== undefined)) throw new UploadNotFoundError(state.id);
  return data;
}

export function uploadState(id: string, offset: number, data: S3UploadData): UploadState {
  const driver: Record<string, unknown> = { parts: data.parts, tail: data.tail };
  if (data.uploadId !== undefined) driver.uploadId = data.uploadId;
  if (data.tailName !== undefined) driver.tailName = data.tailName;
  if (data.staleTail !== undefined) driver.staleTail = data.staleTail;
  if (data.sha256 !== undefined) driver.sha256 = data.sha256;
  return { id, offset, driver };
}
