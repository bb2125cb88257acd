// The OCI Distribution API as one encapsulated Fastify plugin: it owns the /v2/ routes (and
// /extensions/v2/, containers/image's signatures extension, when it is on), leaves
// request bodies as raw streams, authorizes every request in one hook, dispatches on the parsed
// route, and writes every error as the spec's {"errors":[...]} JSON.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Decision, Grant, Need } from '../auth/authenticator.js';
import type { Principal } from '../auth/policy.js';
import { formatScope } from '../auth/scope.js';
import { MetadataUnavailableError } from '../metadata/metadata-store.js';
import { BlobNotFoundError, isStorageFull, StorageUnavailableError } from '../storage/blob-store.js';
import { deleteBlob, getBlob, headBlob } from './blobs.js';
import type { Handler, RegistryDeps } from './context.js';
import { OciError } from '../oci/errors.js';
import { errorBody, fromOciError, RegistryError } from './errors.js';
import { listCatalog, listReferrers, listTags } from './listings.js';
import { deleteManifest, getManifest, headManifest, putManifest } from './manifests.js';
import { matchTarget, requiredAccess, SIGNATURES_PREFIX, targetPath, type OciRoute } from './routes.js';
import { getSignatures, putSignatures } from './simple-signing-routes.js';
import { cancelUpload, getUpload, patchUpload, putUpload, startUpload } from './uploads.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The credentials the request was authorized with, for what it does beyond its own need. */
    grant: Grant | null;
    oci: OciRoute | null;
  }
}

/** What a request without valid credentials is told to send (RFC 7235 WWW-Authenticate). */
export type Challenge = { scheme: 'basic'; realm: string } | { scheme: 'bearer'; realm: string; service: string };

export interface RegistryPluginOptions {
  deps: RegistryDeps;
  /** The challenge a request without valid credentials gets (auth.challenge). */
  challenge(request: FastifyRequest): Challenge;
}

const versionCheck: Handler<'base'> = async (_request, reply) => {
  reply.code(200).header('Content-Type', 'application/json');
  await reply.send('{}');
};

type AnyHandler = Handler<OciRoute['kind']>;
const HANDLERS: Record<OciRoute['kind'], Record<string, AnyHandler>> = {
  base: { GET: versionCheck, HEAD: versionCheck } as Record<string, AnyHandler>,
  catalog: { GET: listCatalog } as Record<string, AnyHandler>,
  tags: { GET: listTags } as Record<string, AnyHandler>,
  referrers: { GET: listReferrers } as Record<string, AnyHandler>,
  manifest: { GET: getManifest, HEAD: headManifest, PUT: putManifest, DELETE: deleteManifest } as Record<string, AnyHandler>,
  blob: { GET: getBlob, HEAD: headBlob, DELETE: deleteBlob } as Record<string, AnyHandler>,
  uploads: { POST: startUpload } as Record<string, AnyHandler>,
  upload: { GET: getUpload, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload } as Record<string, AnyHandler>,
  signatures: { GET: getSignatures, PUT: putSignatures } as Record<string, AnyHandler>,
};

export async function registryPlugin(app: FastifyInstance, opts: RegistryPluginOptions): Promise<void> {
  const { deps } = opts;
  app.decorateRequest('principal', null);
  app.decorateRequest('grant', null);
  app.decorateRequest('oci', null);

  // Leave every body as the raw request stream: blobs are piped to storage, never buffered.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  /** A refused request's error: 403, 429, or 401 with the challenge the client should answer. */
  const refusal = (request: FastifyRequest, need: Need | null, decision: Exclude<Decision, { ok: true }>): RegistryError => {
    if (decision.status === 403) return new RegistryError('DENIED', decision.message);
    if (decision.status === 429) {
      return new RegistryError('TOOMANYREQUESTS', decision.message, undefined, { headers: { 'Retry-After': String(decision.retryAfterSeconds) } });
    }
    const c = opts.challenge(request);
    let challenge: string;
    if (c.scheme === 'basic') {
      challenge = `Basic realm="${c.realm}"`;
    } else {
      challenge = `Bearer realm="${c.realm}",service="${c.service}"`;
      if (need) challenge += `,scope="${formatScope({ type: need.type, name: need.name, actions: scopeActions(need.action) })}"`;
      if (decision.insufficientScope) challenge += ',error="insufficient_scope"';
    }
    return new RegistryError('UNAUTHORIZED', decision.message, undefined, { headers: { 'WWW-Authenticate': challenge } });
  };
  const settle = (request: FastifyRequest, need: Need | null, decision: Decision, done: (err?: Error) => void): void => {
    if (!decision.ok) return done(refusal(request, need, decision));
    request.principal = decision.principal;
    request.grant = decision;
    done();
  };

  // A callback hook, not an async one: the usual request (no credentials, or Basic credentials
  // verified recently) is decided synchronously and costs no promise; only the slow path awaits.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    // containers/image reads this from its /v2/ ping, and then stores and reads simple
    // signatures through /extensions/v2/ instead of a lookaside (docker_client.go).
    if (deps.signatures) reply.header('X-Registry-Supports-Signatures', '1');
    let need: Need | null;
    let cached: Decision | undefined;
    try {
      const route = matchTarget(targetPath(request.raw.url ?? ''));
      if (!route) return done(new RegistryError('NAME_UNKNOWN', 'no such API endpoint', undefined, { status: 404 }));
      request.oci = route;
      need = requiredAccess(route, request.method);
      cached = deps.auth.decideCached(request.headers.authorization, need, request.raw.socket);
    } catch (err) {
      return done(err as Error);
    }
    if (cached) return settle(request, need, cached, done);
    deps.auth.decide(request.headers.authorization, need, deps.clientAddress(request)).then(
      (decision) => settle(request, need, decision, done),
      (err: Error) => done(err),
    );
  });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.oci!;
    const handler = HANDLERS[route.kind][request.method];
    if (!handler) throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on this endpoint`, undefined, { status: 405 });
    await handler(request, reply, route, deps);
  };
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  app.route({ method: [...methods], url: '/v2/', handler: dispatch });
  app.route({ method: [...methods], url: '/v2/*', handler: dispatch });
  if (deps.signatures) app.route({ method: [...methods], url: `${SIGNATURES_PREFIX}*`, handler: dispatch });

  app.setErrorHandler(async (err, request, reply) => {
    const e = toRegistryError(err);
    if (e.status === 503) {
      request.log.warn({ err: (err as Error).message }, 'answered 503: a backing service is unavailable; see /readyz and the database or storage logs');
    } else if (e.status === 507) {
      request.log.error({ err: (err as Error).message }, 'out of storage space: the filesystem of the data directory (or the database) is full; free space or grow the volume. The failed request was rolled back');
    } else if (e.status >= 500) {
      request.log.error({ err }, 'request failed');
    }
    reply.code(e.status).headers(e.headers).header('Content-Type', 'application/json');
    // Answered before the body was read to its end (a refused or failed upload): close the
    // connection rather than keep it alive and drain what the client still sends.
    if (!request.raw.complete) reply.header('Connection', 'close');
    return errorBody(e);
  });
}

/** Push also needs pull (clients HEAD before they upload); the challenge asks for both at once. */
function scopeActions(action: string): string[] {
  return action === 'push' ? ['pull', 'push'] : [action];
}

/** Seconds a client is asked to wait when the database or the storage is briefly unavailable. */
const UNAVAILABLE_RETRY_SECONDS = 5;

function toRegistryError(err: unknown): RegistryError {
  if (err instanceof OciError) return fromOciError(err);
  if (err instanceof BlobNotFoundError) return new RegistryError('BLOB_UNKNOWN', err.message);
  if (err instanceof MetadataUnavailableError || err instanceof StorageUnavailableError) {
    return new RegistryError('UNKNOWN', `${err.message}; nothing of this request was kept. Retry shortly`, undefined, {
      status: 503,
      headers: { 'Retry-After': String(UNAVAILABLE_RETRY_SECONDS) },
    });
  }
  if (isStorageFull(err)) {
    return new RegistryError('UNKNOWN', 'the registry is out of storage space; nothing of this request was kept. Retry once space is freed', undefined, { status: 507 });
  }
  const status = (err as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new RegistryError('UNSUPPORTED', (err as Error).message, undefined, { status });
  }
  return new RegistryError('UNKNOWN', 'internal server error; see the registry log');
}
