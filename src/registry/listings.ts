// Tag lists, the catalog and referrers: index lookups in metadata, paginated with `n` and `last`
// and a Link header (OCI Distribution Spec v1.1, "Listing tags", "Listing referrers").
import { callerOf, type Handler, pageParams, queryParam, setNextLink } from './context.js';
import { MEDIA } from '../oci/manifest-parse.js';

/** Buffers keep Content-Type exactly as set (Fastify adds a charset to strings). */
function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/**
 * A JSON array of names, written out directly: tags and repository names are ASCII from their
 * grammars (names.ts), with no character JSON would escape, and only names that passed the
 * grammar are ever stored. Half the cost of JSON.stringify, on the path a paginated listing takes
 * once per page. Sent as a string with its charset (as Distribution does): Node then writes
 * headers and body in one write instead of gathering a header string and a Buffer.
 */
function nameArray(names: readonly string[]): string {
  return names.length === 0 ? '[]' : `["${names.join('","')}"]`;
}

const JSON_UTF8 = 'application/json; charset=utf-8';

/** Without `n` a page holds this many entries; a Link header leads to the next page. */
const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10_000;

export const listTags: Handler<'tags'> = async (request, reply, route, deps) => {
  const { n, last } = pageParams(request, DEFAULT_PAGE, MAX_PAGE);
  const tags = await deps.artifacts.tags(route.name, last, n === 0 ? 0 : n + 1);
  const page = tags.slice(0, n);
  if (tags.length > n) setNextLink(reply, `/v2/${route.name}/tags/list`, n, page[page.length - 1]!);
  reply.code(200).header('Content-Type', JSON_UTF8);
  await reply.send(`{"name":"${route.name}","tags":${nameArray(page)}}`);
};

export const listCatalog: Handler<'catalog'> = async (request, reply, route, deps) => {
  const { n, last } = pageParams(request, DEFAULT_PAGE, MAX_PAGE);
  const names = await deps.artifacts.repositories(callerOf(request, deps), last, n === 0 ? 0 : n + 1);
  const page = names.slice(0, n);
  if (names.length > n) setNextLink(reply, '/v2/_catalog', n, page[page.length - 1]!);
  reply.code(200).header('Content-Type', JSON_UTF8);
  await reply.send(`{"repositories":${nameArray(page)}}`);
};

export const listReferrers: Handler<'referrers'> = async (request, reply, route, deps) => {
  const artifactType = queryParam(request, 'artifactType') || undefined;
  const manifests = await deps.artifacts.referrers(route.name, route.digest, artifactType);
  if (artifactType !== undefined) reply.header('OCI-Filters-Applied', 'artifactType');
  reply.code(200).header('Content-Type', MEDIA.ociIndex);
  await reply.send(jsonBody({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests }));
};
