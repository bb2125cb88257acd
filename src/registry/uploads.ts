// Blob uploads (OCI Distribution Spec v1.1, "Pushing blobs"): monolithic (POST ?digest=, or POST
// then PUT), chunked (PATCH with Content-Range, in order), status (GET), cancel (DELETE) and
// cross-repository mount (POST ?mount=&from=). Upload bytes live in the blob store, the upload's
// repository in metadata, so an upload survives a restart and resumes at the stored offset.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  BodyTooLargeError,
  DigestMismatchError,
  StorageFullError,
  UploadNotFoundError,
  UploadOffsetError,
} from '../storage/blob-store.js';
import { apiPath, hasBody, queryParam, type Handler, type RegistryDeps } from './context.js';
import { RegistryError } from './errors.js';
import { assertName, parseDigest, type Digest } from '../oci/names.js';

export const startUpload: Handler<'uploads'> = async (request, reply, route, deps) => {
  // Every parameter is checked before anything is made: a malformed one is a 400, not a
  // silent fallback to an upload the client did not ask for.
  const given = queryParam(request, 'digest', 'DIGEST_INVALID');
  const digest = given === undefined ? undefined : parseDigest(given);
  const mountParam = queryParam(request, 'mount', 'DIGEST_INVALID');
  const mount = mountParam === undefined ? undefined : parseDigest(mountParam);
  const from = queryParam(request, 'from', 'NAME_INVALID');
  if (from !== undefined) assertName(from);
  if (mount !== undefined && (await tryMount(request, deps, route.name, mount, from))) {
    return created(request, reply, deps, route.name, mount);
  }
  const id = randomUUID();
  await deps.blobs.createUpload(id);
  await deps.meta.createUpload(id, route.name);
  if (digest !== undefined) {
    // Monolithic upload in a single POST. If it fails, the client never learns the upload's
    // id and cannot resume it: nothing of it is kept.
    try {
      await receive(request, deps, id, 0);
      await commit(deps, route.name, id, digest);
    } catch (err) {
      await Promise.allSettled([deps.blobs.cancelUpload(id), deps.meta.deleteUpload(id)]);
      throw err;
    }
    return created(request, reply, deps, route.name, digest);
  }
  return accepted(request, reply, deps, route.name, id, 0);
};

export const patchUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const size = await uploadSize(deps, route.name, route.id);
  // A chunked upload can be resumed after a restart once it has bytes: record it now.
  await deps.meta.persistUpload(route.id);
  const range = parseContentRange(request.headers['content-range']);
  const offset = range ? range.start : size;
  if (range) {
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) !== range.end - range.start + 1) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`);
    }
  }
  const newSize = await receive(request, deps, route.id, offset, () => outOfOrder(request, deps, route.name, route.id, size));
  return accepted(request, reply, deps, route.name, route.id, newSize);
};

export const putUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const size = await uploadSize(deps, route.name, route.id);
  const digest = parseDigest(queryParam(request, 'digest', 'DIGEST_INVALID'));
  if (hasBody(request)) {
    const range = parseContentRange(request.headers['content-range']);
    await receive(request, deps, route.id, range ? range.start : size, () => outOfOrder(request, deps, route.name, route.id, size));
  }
  await commit(deps, route.name, route.id, digest);
  return created(request, reply, deps, route.name, digest);
};

export const getUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const size = await uploadSize(deps, route.name, route.id);
  reply
    .code(204)
    .header('Location', deps.location(request, apiPath(route.name, 'blobs', 'uploads', route.id)))
    .header('Range', rangeHeader(size))
    .header('Docker-Upload-UUID', route.id);
  await reply.send();
};

export const cancelUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  await uploadSize(deps, route.name, route.id);
  await deps.blobs.cancelUpload(route.id);
  await deps.meta.deleteUpload(route.id);
  reply.code(204);
  await reply.send();
};

/** Current size of an upload that belongs to `name`; BLOB_UPLOAD_UNKNOWN otherwise. */
async function uploadSize(deps: RegistryDeps, name: string, id: string): Promise<number> {
  const record = await deps.meta.getUpload(id);
  const size = record?.repository === name ? await deps.blobs.uploadSize(id) : undefined;
  if (size === undefined) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown in repository ${name}`);
  return size;
}

/** Streams the request body into the upload at `offset`; maps storage failures to API errors. */
async function receive(
  request: FastifyRequest,
  deps: RegistryDeps,
  id: string,
  offset: number,
  onOutOfOrder?: () => Promise<RegistryError>,
): Promise<number> {
  deps.observeUpload?.started();
  let before = offset;
  try {
    return await deps.blobs.appendUpload(id, offset, request.raw);
  } catch (err) {
    if (err instanceof UploadOffsetError) {
      before = err.expected;
      throw onOutOfOrder ? await onOutOfOrder() : new RegistryError('BLOB_UPLOAD_INVALID', err.message, undefined, { status: 416 });
    }
    if (err instanceof UploadNotFoundError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', err.message);
    if (err instanceof BodyTooLargeError) throw new RegistryError('SIZE_INVALID', err.message);
    // The store stops reading the body when the disk is full: that is no client hang-up.
    if (err instanceof StorageFullError) throw err;
    if (request.raw.destroyed || request.raw.readableAborted) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete; ask for the upload status and resume');
    }
    throw err;
  } finally {
    const after = (await deps.blobs.uploadSize(id).catch(() => undefined)) ?? before;
    deps.observeUpload?.finished(Math.max(0, after - before));
  }
}

async function outOfOrder(request: FastifyRequest, deps: RegistryDeps, name: string, id: string, size: number): Promise<RegistryError> {
  return new RegistryError(
    'BLOB_UPLOAD_INVALID',
    `chunk is out of order: the upload has ${size} bytes, so the next chunk must start at byte ${size}`,
    { offset: size },
    {
      status: 416,
      headers: {
        Location: deps.location(request, apiPath(name, 'blobs', 'uploads', id)),
        Range: rangeHeader(size),
        'Docker-Upload-UUID': id,
      },
    },
  );
}

async function commit(deps: RegistryDeps, name: string, id: string, digest: Digest): Promise<void> {
  let size: number;
  try {
    ({ size } = await deps.blobs.commitUpload(id, digest));
  } catch (err) {
    if (err instanceof DigestMismatchError) throw new RegistryError('DIGEST_INVALID', err.message, { expected: err.expected, actual: err.actual });
    if (err instanceof UploadNotFoundError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', err.message);
    throw err;
  }
  await deps.meta.linkBlob(name, digest, size, id);
}

/** How many repositories holding a blob a mount without `from` looks at (the first one the client may pull is used). */
const MOUNT_CANDIDATES = 100;

/**
 * Cross-repository mount. The source must be a repository the request's own credentials may
 * pull (for a bearer token: one its scopes grant pull on, not merely one its user could pull);
 * with `from` it is that repository, without `from` the first such repository holding the blob.
 * Anything else is no mount, and the client gets an upload session instead (202), as from
 * Distribution.
 */
async function tryMount(request: FastifyRequest, deps: RegistryDeps, name: string, digest: Digest, from: string | undefined): Promise<boolean> {
  const grant = request.grant;
  if (!grant) return false;
  const mayPull = (repository: string) => deps.auth.permits(grant, { type: 'repository', name: repository, action: 'pull' });
  let source: string | undefined;
  if (from !== undefined) {
    source = mayPull(from) ? from : undefined;
  } else {
    source = (await deps.meta.repositoriesWithBlob(digest, MOUNT_CANDIDATES)).find(mayPull);
  }
  const size = source === undefined ? undefined : await deps.meta.repositoryBlobSize(source, digest);
  if (size === undefined || !(await deps.blobs.stat(digest))) return false;
  await deps.meta.linkBlob(name, digest, size);
  return true;
}

async function created(request: FastifyRequest, reply: FastifyReply, deps: RegistryDeps, name: string, digest: string): Promise<void> {
  reply
    .code(201)
    .header('Location', deps.location(request, apiPath(name, 'blobs', digest)))
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', 0);
  await reply.send();
}

async function accepted(request: FastifyRequest, reply: FastifyReply, deps: RegistryDeps, name: string, id: string, size: number): Promise<void> {
  reply
    .code(202)
    .header('Location', deps.location(request, apiPath(name, 'blobs', 'uploads', id)))
    .header('Range', rangeHeader(size))
    .header('Docker-Upload-UUID', id)
    .header('Content-Length', 0);
  await reply.send();
}

/** "0-<last byte>", as Distribution sends it ("0-0" for an empty upload). */
function rangeHeader(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}

/** Content-Range of a PATCH: "<start>-<end>" (the spec's form) or "bytes <start>-<end>[/total]". */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `malformed Content-Range "${header}"`, undefined, { status: 416 });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${header} ends before it starts`, undefined, { status: 416 });
  return { start, end };
}
