// GET/HEAD/DELETE /v2/<name>/blobs/<digest> (OCI Distribution Spec v1.1, "Pulling blobs",
// "Deleting blobs"). Range requests follow RFC 9110 for a single byte range. Each handler
// parses, calls one use case of core/artifacts.ts, and writes the response.
import { callerOf, type Handler } from './context.js';
import type { ByteRange } from '../storage/blob-store.js';
import { RegistryError } from './errors.js';
import { sendFileRange } from './send-file.js';

export const headBlob: Handler<'blob'> = async (request, reply, route, deps) => {
  const { digest, size } = await deps.artifacts.blobSize(callerOf(request, deps), route.name, route.digest);
  blobHeaders(reply, digest).header('Content-Length', size).code(200);
  await reply.send();
};

export const getBlob: Handler<'blob'> = async (request, reply, route, deps) => {
  const { digest, size } = await deps.artifacts.blobSize(callerOf(request, deps), route.name, route.digest);
  const range = parseRange(request.headers.range, size);
  if (size === 0) {
    blobHeaders(reply, digest).code(200).header('Content-Length', 0);
    return reply.send(Buffer.alloc(0));
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const body = await deps.artifacts.blobBody(digest, { start, end }, deps.options.redirectTtlSeconds);
  if (body.kind === 'redirect') {
    reply.code(307).header('Location', body.url).header('Docker-Content-Digest', digest).header('Content-Length', 0);
    return reply.send();
  }
  blobHeaders(reply, digest);
  if (range) {
    reply
      .code(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      .header('Content-Length', range.end - range.start + 1);
  } else {
    reply.code(200).header('Content-Length', size);
  }
  if (body.kind === 'stream') await reply.send(body.stream);
  else await sendFileRange(reply, body.reader, start, end);
};

export const deleteBlob: Handler<'blob'> = async (request, reply, route, deps) => {
  await deps.artifacts.deleteBlob(callerOf(request, deps), route.name, route.digest);
  reply.code(202).header('Content-Length', 0);
  await reply.send();
};

function blobHeaders(reply: Parameters<Handler<'blob'>>[1], digest: string) {
  return reply
    .header('Docker-Content-Digest', digest)
    .header('Content-Type', 'application/octet-stream')
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${digest}"`)
    .header('Cache-Control', 'max-age=31536000');
}

/**
 * A single "bytes=a-b", "bytes=a-" or "bytes=-n" range, or null for none. Multiple ranges are
 * answered with the whole blob (allowed by RFC 9110); an unsatisfiable range is a 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) start = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) {
    throw new RegistryError('RANGE_INVALID', `range ${header} is not satisfiable for a blob of ${size} bytes`, { size }, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  return { start, end };
}
