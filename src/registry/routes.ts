// Maps /v2/... paths onto the API's resources. Repository names contain slashes, so the path is
// matched from its end: the last "/blobs/", "/manifests/", ... segment decides the resource.
// Routes are plain data; authorization asks `requiredAccess` which scope a request needs.
import type { Need } from '../auth/authenticator.js';
import { RegistryError } from './errors.js';
import { assertName } from '../oci/names.js';

export type OciRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string }
  // containers/image's signatures extension: /extensions/v2/<name>/signatures/<digest>
  | { kind: 'signatures'; name: string; digest: string };

/** Where containers/image looks for the signatures extension (docker_client.go extensionsSignaturePath). */
export const SIGNATURES_PREFIX = '/extensions/v2/';

/**
 * A request target in origin form ("/v2/...?n=1"). An absolute-form target
 * ("http://host:port/v2/...", which RFC 9112 section 3.2.2 requires servers to accept) loses its
 * scheme and authority, as Fastify's router does; an origin-form one costs one comparison.
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f /* "/" */) return target;
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  return authority ? target.slice(authority[0].length) || '/' : target;
}

/** The path of a request target, without its query (see `originForm`). */
export function targetPath(target: string): string {
  const origin = originForm(target);
  const q = origin.indexOf('?');
  return q === -1 ? origin : origin.slice(0, q);
}

/**
 * Parses the part of the path after "/v2/" (without the query string). Returns undefined for
 * paths that are no API resource (404), and throws NAME_INVALID for a malformed repository name.
 * The last one to three segments decide (string comparisons, no regular expressions: every
 * request comes through here).
 */
export function matchRoute(rest: string): OciRoute | undefined {
  if (rest === '') return { kind: 'base' };
  if (rest === '_catalog') return { kind: 'catalog' };
  const route = resourceOf(decodePath(rest));
  if (route && 'name' in route) assertName(route.name);
  return route;
}

/** A request path of the registry plugin: /v2/... or the signatures extension's. */
export function matchTarget(path: string): OciRoute | undefined {
  if (path.startsWith(SIGNATURES_PREFIX)) {
    // "<name>/signatures/<digest>"; the name has slashes, the digest none.
    const rest = decodePath(path.slice(SIGNATURES_PREFIX.length));
    const cut = rest.lastIndexOf('/signatures/');
    if (cut <= 0) return undefined;
    const digest = rest.slice(cut + '/signatures/'.length);
    if (digest === '' || digest.includes('/')) return undefined;
    const name = rest.slice(0, cut);
    assertName(name);
    return { kind: 'signatures', name, digest };
  }
  return matchRoute(path.slice('/v2/'.length));
}

function decodePath(rest: string): string {
  if (!rest.includes('%')) return rest;
  try {
    return decodeURIComponent(rest);
  } catch {
    throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the path');
  }
}

function resourceOf(path: string): OciRoute | undefined {
  const cut = path.lastIndexOf('/');
  if (cut <= 0) return undefined;
  const last = path.slice(cut + 1);
  const before = path.slice(0, cut); // "<name>/<resource>"
  const cut2 = before.lastIndexOf('/');
  if (cut2 <= 0) return undefined;
  const resource = before.slice(cut2 + 1);
  const name = before.slice(0, cut2);
  switch (resource) {
    case 'manifests':
      return last === '' ? undefined : { kind: 'manifest', name, reference: last };
    case 'blobs':
      // ".../blobs/uploads" starts an upload (as ".../blobs/uploads/" does, below).
      if (last === 'uploads') return { kind: 'uploads', name };
      return last === '' ? undefined : { kind: 'blob', name, digest: last };
    case 'tags':
      return last === 'list' ? { kind: 'tags', name } : undefined;
    case 'referrers':
      return last === '' ? undefined : { kind: 'referrers', name, digest: last };
    case 'uploads': {
      // "<name>/blobs/uploads/" or "<name>/blobs/uploads/<id>"
      const cut3 = name.lastIndexOf('/');
      if (cut3 <= 0 || name.slice(cut3 + 1) !== 'blobs') return undefined;
      const repository = name.slice(0, cut3);
      return last === '' ? { kind: 'uploads', name: repository } : { kind: 'upload', name: repository, id: last };
    }
    default:
      return undefined;
  }
}

const METHOD_ACTION: Record<string, string> = {
  GET: 'pull',
  HEAD: 'pull',
  POST: 'push',
  PUT: 'push',
  PATCH: 'push',
  DELETE: 'delete',
};

/**
 * The scope a request needs; null for the version check, which needs only a valid identity.
 * Everything about an upload session, its status (GET) included, needs push: the session
 * belongs to a pusher, and anonymous pull must not let anyone watch it.
 */
export function requiredAccess(route: OciRoute, method: string): Need | null {
  if (route.kind === 'base') return null;
  if (route.kind === 'catalog') return { type: 'registry', name: 'catalog', action: '*' };
  if (route.kind === 'upload') return { type: 'repository', name: route.name, action: 'push' };
  return { type: 'repository', name: route.name, action: METHOD_ACTION[method] ?? 'pull' };
}

/** The resource families used as metric labels (bounded cardinality). */
export function routeLabel(route: OciRoute | null): string {
  return route?.kind ?? 'other';
}
