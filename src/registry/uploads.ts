// Blob uploads (OCI Distribution Spec v1.1, "Pushing blobs"): monolithic (POST ?digest=, or POST
// then PUT), chunked (PATCH with Content-Range, in order), status (GET), cancel (DELETE) and
// cross-repository mount (POST ?mount=&from=). Each handler parses, calls one use case of
// core/upload-sessions.ts, and writes the response.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UploadOutOfOrderError, type Chunk } from '../core/upload-sessions.js';
import { assertName, parseDigest } from '../oci/names.js';
import { apiPath, callerOf, hasBody, queryParam, type Handler, type RegistryDeps } from './context.js';
import { RegistryError } from './errors.js';

export const startUpload: Handler<'uploads'> = async (request, reply, route, deps) => {
  // Every parameter is checked before anything is made: a malformed one is a 400, not a
  // silent fallback to an upload the client did not ask for.
  const given = queryParam(request, 'digest', 'DIGEST_INVALID');
  const digest = given === undefined ? undefined : parseDigest(given);
  const mountParam = queryParam(request, 'mount', 'DIGEST_INVALID');
  const mount = mountParam === undefined ? undefined : parseDigest(mountParam);
  const from = queryParam(request, 'from', 'NAME_INVALID');
  if (from !== undefined) assertName(from);
  const caller = callerOf(request, deps);
  // A mount the caller may not make (or of a blob not there) is an upload session instead (202), as from Distribution.
  if (mount !== undefined && (await deps.uploads.mount(caller, route.name, mount, from))) {
    return created(request, reply, deps, route.name, mount);
  }
  if (digest !== undefined) {
    // Monolithic upload in a single POST: if it fails, nothing of it is kept.
    await deps.uploads.push(caller, route.name, digest, chunkOf(request, 0));
    return created(request, reply, deps, route.name, digest);
  }
  const state = await deps.uploads.start(caller, route.name);
  return accepted(request, reply, deps, route.name, state.id, 0);
};

export const patchUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const range = parseContentRange(request.headers['content-range']);
  if (range) {
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) !== range.end - range.start + 1) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`);
    }
  }
  const offset = await inOrder(request, deps, route.name, () => deps.uploads.append(callerOf(request, deps), route.name, route.id, chunkOf(request, range?.start)));
  return accepted(request, reply, deps, route.name, route.id, offset);
};

export const putUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const digest = parseDigest(queryParam(request, 'digest', 'DIGEST_INVALID'));
  const chunk = hasBody(request) ? chunkOf(request, parseContentRange(request.headers['content-range'])?.start) : undefined;
  await inOrder(request, deps, route.name, () => deps.uploads.finish(callerOf(request, deps), route.name, route.id, digest, chunk));
  return created(request, reply, deps, route.name, digest);
};

export const getUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  const size = await deps.uploads.status(route.name, route.id);
  reply
    .code(204)
    .header('Location', deps.location(request, apiPath(route.name, 'blobs', 'uploads', route.id)))
    .header('Range', rangeHeader(size))
    .header('Docker-Upload-UUID', route.id);
  await reply.send();
};

export const cancelUpload: Handler<'upload'> = async (request, reply, route, deps) => {
  await deps.uploads.cancel(callerOf(request, deps), route.name, route.id);
  reply.code(204);
  await reply.send();
};

/** The request body as a chunk of the upload, starting where the client says (if it says). */
function chunkOf(request: FastifyRequest, start: number | undefined): Chunk {
  const raw = request.raw;
  const declared = request.headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  return { body: raw, start, length, aborted: () => raw.destroyed || raw.readableAborted };
}

/** An out-of-order chunk is a 416 that tells the client where the upload stands. */
async function inOrder<T>(request: FastifyRequest, deps: RegistryDeps, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof UploadOutOfOrderError)) throw err;
    throw new RegistryError(err.code, err.message, err.detail, {
      status: 416,
      headers: {
        Location: deps.location(request, apiPath(name, 'blobs', 'uploads', err.id)),
        Range: rangeHeader(err.offset),
        'Docker-Upload-UUID': err.id,
      },
    });
  }
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
