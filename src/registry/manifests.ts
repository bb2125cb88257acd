// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (OCI Distribution Spec v1.1, "Pulling
// manifests", "Pushing manifests", "Deleting manifests and tags").
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ManifestRecord } from '../metadata/registry-metadata.js';
import { apiPath, assertDeleteEnabled, type Handler, type RegistryDeps } from './context.js';
import { OciError } from '../oci/errors.js';
import { RegistryError } from './errors.js';
import { parseManifest, type ParsedManifest, type Referenced } from '../oci/manifest-parse.js';
import { digestAlgorithm, parseReference, type Reference } from '../oci/names.js';

async function resolve(deps: RegistryDeps, name: string, reference: string): Promise<ManifestRecord> {
  const ref = lookupReference(reference);
  const digest = ref === undefined ? undefined : ref.kind === 'digest' ? ref.digest : await deps.meta.resolveTag(name, ref.tag);
  const record = digest === undefined ? undefined : (deps.manifests.get(name, digest) ?? (await load(deps, name, digest)));
  if (!record) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${name}`, { name, reference });
  return record;
}

/**
 * A pull of something that cannot be a tag names no manifest: 404 MANIFEST_UNKNOWN, as the spec
 * says for a manifest that is not found (and the conformance suite checks). A malformed digest is
 * still DIGEST_INVALID, and a push of a bad tag still TAG_INVALID, so the pusher learns why.
 */
function lookupReference(reference: string): Reference | undefined {
  try {
    return parseReference(reference);
  } catch (err) {
    if (err instanceof OciError && err.code === 'TAG_INVALID') return undefined;
    throw err;
  }
}

async function load(deps: RegistryDeps, name: string, digest: string): Promise<ManifestRecord | undefined> {
  const record = await deps.meta.getManifest(name, digest);
  if (record) deps.manifests.set(name, record);
  return record;
}

export const headManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const m = await resolve(deps, route.name, route.reference);
  reply.code(200).header('Content-Type', m.mediaType).header('Content-Length', m.size).header('Docker-Content-Digest', m.digest).header('ETag', `"${m.digest}"`);
  await reply.send();
};

export const getManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const m = await resolve(deps, route.name, route.reference);
  reply.code(200).header('Content-Type', m.mediaType).header('Docker-Content-Digest', m.digest).header('ETag', `"${m.digest}"`);
  await reply.send(m.content);
};

export const putManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  const ref = parseReference(route.reference);
  const body = await readManifestBody(request, deps.options.maxManifestBytes);
  const algorithm = ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256';
  const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
  if (ref.kind === 'digest' && ref.digest !== digest) {
    throw new RegistryError('DIGEST_INVALID', `manifest hashes to ${digest}, not ${ref.digest}`, { expected: ref.digest, actual: digest });
  }
  const parsed = parseManifest(body, request.headers['content-type']);

  await assertReferences(deps, route.name, parsed);

  await deps.meta.putManifest(
    route.name,
    {
      digest,
      mediaType: parsed.mediaType,
      artifactType: parsed.artifactType,
      subject: parsed.subject,
      annotations: parsed.annotations,
      size: body.length,
      content: body,
    },
    [...parsed.blobs.map((b) => b.digest), ...parsed.externalBlobs, ...parsed.manifests.map((m) => m.digest)],
    ref.kind === 'tag' ? ref.tag : undefined,
  );
  reply.code(201).header('Location', deps.location(request, apiPath(route.name, 'manifests', digest))).header('Docker-Content-Digest', digest).header('Content-Length', 0);
  if (parsed.subject) reply.header('OCI-Subject', parsed.subject);
  await reply.send();
};

export const deleteManifest: Handler<'manifest'> = async (request, reply, route, deps) => {
  assertDeleteEnabled(deps);
  const ref = parseReference(route.reference);
  const deleted = ref.kind === 'digest' ? await deps.meta.deleteManifest(route.name, ref.digest) : await deps.meta.deleteTag(route.name, ref.tag);
  if (!deleted) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${route.reference} is not in repository ${route.name}`);
  if (ref.kind === 'digest') deps.manifests.delete(route.name, ref.digest);
  reply.code(202).header('Content-Length', 0);
  await reply.send();
};

/**
 * Every blob and child manifest a manifest references must be in the repository, with the size
 * its descriptor gives (a blob's stored size, a child manifest's length): clients pulling it
 * would otherwise fail on a size mismatch. Checked before anything is stored.
 */
async function assertReferences(deps: RegistryDeps, name: string, parsed: ParsedManifest): Promise<void> {
  const blobSizes = await deps.meta.blobSizes(name, parsed.blobs.map((b) => b.digest));
  const manifestSizes = await deps.meta.manifestSizes(name, parsed.manifests.map((m) => m.digest));
  const checked: Array<[Referenced, number | undefined]> = [
    ...parsed.blobs.map((b): [Referenced, number | undefined] => [b, blobSizes.get(b.digest)]),
    ...parsed.manifests.map((m): [Referenced, number | undefined] => [m, manifestSizes.get(m.digest)]),
  ];
  const missing = [...new Set(checked.filter(([, size]) => size === undefined).map(([r]) => r.digest))];
  if (missing.length > 0) {
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s), first ${missing[0]}`, {
      digests: missing.slice(0, 20),
    });
  }
  const wrong = checked.find(([r, size]) => r.size !== size);
  if (wrong) {
    const [r, size] = wrong;
    throw new RegistryError('MANIFEST_INVALID', `${r.where} gives size ${r.size} for ${r.digest}, but the repository holds it with ${size} bytes`, {
      descriptor: r.where,
      digest: r.digest,
      size: r.size,
      stored: size,
    });
  }
}

/** Reads the whole manifest (bounded: manifests are small, and the limit is enforced while reading). */
async function readManifestBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const tooLarge = () => new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the limit of ${limit} bytes`, { limit });
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (total === 0) throw new RegistryError('MANIFEST_INVALID', 'manifest body is empty');
  return Buffer.concat(chunks, total);
}
