// What every registry handler is given, and the few helpers they share.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Artifacts } from '../core/artifacts.js';
import type { UploadSessions } from '../core/upload-sessions.js';
import type { SimpleSignatures } from '../trust/simple-signing.js';
import type { Caller } from '../policy/policy.js';
import type { Actor } from '../events/events.js';
import { RegistryError, type ErrorCode } from './errors.js';
import type { OciRoute } from './routes.js';

export interface RegistryOptions {
  maxManifestBytes: number;
  /** Answer blob GETs with a redirect to the storage's own URL, valid this long (storage that offers it). */
  redirectTtlSeconds?: number;
}

export interface RegistryDeps {
  uploads: UploadSessions;
  artifacts: Artifacts;
  auth: Authenticator;
  options: RegistryOptions;
  /** The signatures extension (simple signing); absent when registry.signatureExtension is off. */
  signatures?: SimpleSignatures;
  /** Location header for an API path: absolute when the external URL is known, else relative. */
  location(request: FastifyRequest, path: string): string;
  /** The client's address (behind a trusted proxy, the one it forwarded), for the login throttle and events. */
  clientAddress(request: FastifyRequest): string;
}

/**
 * Who a request acts as, for the use cases: its principal and the credentials it was authorized
 * with. The client's address is looked up once, when first needed (by an event, or by the key a
 * pull is folded under).
 */
export function callerOf(request: FastifyRequest, deps: RegistryDeps): Caller {
  return { actor: new RequestActor(request, deps), grant: request.grant ?? undefined };
}

class RequestActor implements Actor {
  readonly kind: Actor['kind'];
  readonly name: string | undefined;
  private client: string | undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly deps: RegistryDeps,
  ) {
    const user = request.principal?.user ?? null;
    this.kind = user === null ? 'anonymous' : 'user';
    this.name = user ?? undefined;
  }

  get address(): string {
    return (this.client ??= this.deps.clientAddress(this.request));
  }

  toJSON(): Actor {
    return { kind: this.kind, name: this.name, address: this.address };
  }
}

export type Handler<K extends OciRoute['kind']> = (
  request: FastifyRequest,
  reply: FastifyReply,
  route: Extract<OciRoute, { kind: K }>,
  deps: RegistryDeps,
) => Promise<void>;

/** Path of a repository resource, with the name's slashes kept. */
export function apiPath(name: string, ...rest: string[]): string {
  return `/v2/${name}/${rest.join('/')}`;
}

/**
 * A query parameter the API takes once (the spec defines none that repeats). Fastify turns a
 * repeated one into an array, which must reach no comparison and no SQL statement (it made
 * SQLite throw, a 500): a 400 with `code`, the spec's code for that parameter where it has one.
 */
export function queryParam(request: FastifyRequest, name: string, code: ErrorCode = 'UNSUPPORTED'): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new RegistryError(code, `query parameter "${name}" must be given once, not ${value.length} times`, { parameter: name }, { status: 400 });
}

/**
 * Reads a small request body whole, bounded: the declared length is checked first, the limit
 * again while reading (a client may send more than it declared, or no length at all).
 */
export async function readBoundedBody(request: FastifyRequest, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

/** Tag lists and the catalog share this: `n` and `last` query parameters and a Link header. */
export function pageParams(request: FastifyRequest, defaultN: number, maxN: number): { n: number; last: string | undefined } {
  const given = queryParam(request, 'n', 'PAGINATION_NUMBER_INVALID');
  let n = defaultN;
  if (given !== undefined) {
    n = Number(given);
    if (!/^\d+$/.test(given) || !Number.isSafeInteger(n)) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, got "${given.slice(0, 40)}"`);
    }
  }
  const last = queryParam(request, 'last');
  return { n: Math.min(n, maxN), last: last === '' ? undefined : last };
}

export function setNextLink(reply: FastifyReply, path: string, n: number, last: string): void {
  reply.header('Link', `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`);
}
