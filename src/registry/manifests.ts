// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (OCI Distribution Spec v1.1, "Pulling
// manifests", "Pushing manifests", "Deleting manifests and tags"). Each handler parses, calls one
// use case of core/artifacts.ts, and writes the response.
import type { FastifyRequest } from 'fastify';
import { apiPath, callerOf, readBoundedBody, type Handler } from './context.js';
import { RegistryError } from './errors.js';

export const headManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const m = await deps.artifacts.manifest(callerOf(request, deps), route.name, route.reference, false);
  reply.code(200).header('Content-Type', m.mediaType).header('Content-Length', m.size).header('Docker-Content-Digest', m.digest).header('ETag', `"${m.digest}"`);
  await reply.send();
};

export const getManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const m = await deps.artifacts.manifest(callerOf(request, deps), route.name, route.reference, true);
  reply.code(200).header('Content-Type', m.mediaType).header('Docker-Content-Digest', m.digest).header('ETag', `"${m.digest}"`);
  await reply.send(m.content);
};

export const putManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const body = await readManifestBody(request, deps.options.maxManifestBytes);
  const stored = await deps.artifacts.putManifest(callerOf(request, deps), route.name, route.reference, body, request.headers['content-type']);
  reply
    .code(201)
    .header('Location', deps.location(request, apiPath(route.name, 'manifests', stored.digest)))
    .header('Docker-Content-Digest', stored.digest)
    .header('Content-Length', 0);
  if (stored.subject) reply.header('OCI-Subject', stored.subject);
  await reply.send();
};

export const deleteManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  await deps.artifacts.deleteManifest(callerOf(request, deps), route.name, route.reference);
  reply.code(202).header('Content-Length', 0);
  await reply.send();
};

/** Reads the whole manifest (bounded: manifests are small, and the limit is enforced while reading). */
async function readManifestBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const body = await readBoundedBody(request, limit, () => new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the limit of ${limit} bytes`, { limit }));
  if (body.length === 0) throw new RegistryError('MANIFEST_INVALID', 'manifest body is empty');
  return body;
}
