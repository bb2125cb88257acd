// Harbor's repository, artifact and tag endpoints: repositories (all the caller may see, a
// project's, one; description; delete), artifacts (list with tags, one, delete, copy from another
// repository) and tags (list, add: a retag, delete). Handlers parse, call core/repositories.ts and
// shape Harbor's models (api/v2.0/swagger.yaml: Repository, Artifact, Reference, Platform, Tag).
import { z } from 'zod';
import type { Principal } from '../auth/policy.js';
import type { Repositories, ArtifactView } from '../core/repositories.js';
import type { Actor } from '../events/events.js';
import { ARTIFACT_FILTER_FIELDS, ARTIFACT_SORT_FIELDS, REPOSITORY_FILTER_FIELDS, REPOSITORY_SORT_FIELDS, TAG_FILTER_FIELDS, TAG_SORT_FIELDS, type RepositoryItem, type TagItem } from '../metadata/content-queries.js';
import { MEDIA } from '../oci/manifest-parse.js';
import type { Caller as CoreCaller } from '../policy/policy.js';
import { access, fromParam } from './access.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { projectNameParam, repositoryNameParam } from './params.js';
import { parseQ, parseSort } from './query.js';
import { ScanOverview } from './scan-models.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';

export interface RepositoryRoutesDeps {
  repositories: Repositories;
  /** The actor of events for a principal (with its stable id). */
  actor(principal: Principal, address: string): Promise<Actor>;
  /** Whether a tag is immutable (an immutability rule covers it). */
  immutable(repository: string, tag: string): boolean;
  /** The scan_overview of artifacts by digest (with_scan_overview); absent: no scanner. */
  scanOverviews?(digests: string[]): Promise<Map<string, z.input<typeof ScanOverview>>>;
}

/**
 * A time as Harbor writes it. Memoized for the last times seen: a page of artifacts repeats the
 * same times across thousands of tags, and toISOString cost 3.5 ms of a 24 ms page (measured).
 */
const isoCache = new Map<number, string>();
const iso = (ms: number): string => {
  let s = isoCache.get(ms);
  if (s === undefined) {
    if (isoCache.size >= 4096) isoCache.clear();
    s = new Date(ms).toISOString();
    isoCache.set(ms, s);
  }
  return s;
};
/** Harbor's "never" for pull_time. */
const NEVER = '0001-01-01T00:00:00.000Z';

const Repository = model(
  'Repository',
  z.object({
    id: z.number().int(),
    project_id: z.number().int(),
    name: z.string().describe('The full name, project included ("library/app").'),
    description: z.string(),
    artifact_count: z.number().int(),
    pull_count: z.number().int().describe('Pulls of its artifacts (folded from pull events within seconds, never a write per pull).'),
    creation_time: timestamp,
    update_time: timestamp.describe('The last push.'),
  }),
);

const Tag = model(
  'Tag',
  z.object({
    repository_id: z.number().int(),
    name: z.string(),
    push_time: timestamp,
    pull_time: timestamp.describe(`The artifact's last pull (${NEVER}: never).`),
    immutable: z.boolean().describe('Whether an immutability rule of the project covers it (it cannot be moved or deleted).'),
  }),
);

const Platform = model(
  'Platform',
  z.object({ architecture: z.string().optional(), os: z.string().optional(), variant: z.string().optional(), 'os.version': z.string().optional(), 'os.features': z.array(z.string()).optional() }),
);

const Reference = model(
  'Reference',
  z.object({
    child_digest: z.string(),
    platform: Platform.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    urls: z.array(z.string()).optional(),
  }).describe('A child of an index (an image per platform).'),
);

const Artifact = model(
  'Artifact',
  z.object({
    type: z.enum(['IMAGE', 'CHART', 'CNAB', 'UNKNOWN']),
    media_type: z.string().describe('The config media type (Harbor), or the manifest media type of an index.'),
    manifest_media_type: z.string(),
    artifact_type: z.string().describe('artifactType, else the config media type.'),
    project_id: z.number().int(),
    repository_id: z.number().int(),
    repository_name: z.string(),
    digest: z.string(),
    size: z.number().int().describe('The manifest and the blobs it references, in bytes.'),
    push_time: timestamp,
    pull_time: timestamp,
    annotations: z.record(z.string(), z.string()),
    references: z.array(Reference),
    tags: z.array(Tag).nullable(),
    tag_count: z.number().int().optional().describe('minato, with tags_limit: how many tags the artifact has (tags holds the first tags_limit by name).'),
    labels: z.array(z.unknown()).nullable(),
    scan_overview: ScanOverview.optional().describe('With with_scan_overview: the latest vulnerability report\'s summary (absent when never scanned).'),
  }),
);

const TagReq = model('TagReq', z.object({ name: z.string().min(1).max(128).describe('The tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.') }).describe("Harbor's Tag, of which a creation reads the name."));

const RepositoryReq = model('RepositoryReq', z.object({ description: z.string().max(4096) }).describe("Harbor's Repository, of which an update reads the description."));

const projectParams = z.object({ project_name: projectNameParam });
const repoParams = z.object({ project_name: projectNameParam, repository_name: repositoryNameParam });
const reference = z.string().min(1).max(200).describe('A tag or a digest (sha256:...).');
export const artifactParams = repoParams.extend({ reference });
const tagParams = artifactParams.extend({ tag_name: z.string().min(1).max(128).describe('The tag.') });
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const project = fromParam('project_name');

/** Harbor's artifact type from the media types. */
function artifactTypeOf(manifestType: string, configType: string | null): 'IMAGE' | 'CHART' | 'CNAB' | 'UNKNOWN' {
  if (configType === 'application/vnd.cncf.helm.config.v1+json') return 'CHART';
  if (configType?.startsWith('application/vnd.cnab.')) return 'CNAB';
  if (manifestType === MEDIA.ociIndex || manifestType === MEDIA.dockerList) return 'IMAGE';
  if (configType === 'application/vnd.oci.image.config.v1+json' || configType === 'application/vnd.docker.container.image.v1+json') return 'IMAGE';
  return 'UNKNOWN';
}

/** The children of an index with their platforms. */
function referencesOf(content: Buffer): Array<z.input<typeof Reference>> {
  let doc: { manifests?: Array<{ digest?: unknown; platform?: Record<string, unknown>; annotations?: Record<string, string>; urls?: string[] }> };
  try {
    doc = JSON.parse(content.toString('utf8'));
  } catch {
    return [];
  }
  if (!Array.isArray(doc.manifests)) return [];
  return doc.manifests
    .filter((m) => typeof m.digest === 'string')
    .map((m) => {
      const p = m.platform ?? {};
      const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
      const platform = { architecture: str('architecture'), os: str('os'), variant: str('variant'), 'os.version': str('os.version') };
      return {
        child_digest: m.digest as string,
        ...(m.platform ? { platform: Object.fromEntries(Object.entries(platform).filter(([, v]) => v !== undefined)) } : {}),
        ...(m.annotations && typeof m.annotations === 'object' ? { annotations: m.annotations } : {}),
      };
    });
}

/** The path of a repository's artifact, with the name encoded twice as Harbor's clients send it. */
function artifactPath(project: string, repository: string, digest: string): string {
  return `${API_BASE}/projects/${project}/repositories/${encodeURIComponent(encodeURIComponent(repository))}/artifacts/${digest}`;
}

export function repositoryRoutes(deps: RepositoryRoutesDeps): ApiRoute[] {
  const { repositories } = deps;

  /** The use cases' caller; `authorized`: the repository action the route's access rule has allowed (see Grant.authorized). */
  const coreCaller = async (ctx: ApiContext, authorized?: { repository: string; action: 'delete' | 'push' }): Promise<CoreCaller> => ({
    actor: await deps.actor(ctx.caller.principal, ctx.address),
    grant: { principal: ctx.caller.principal, ...(authorized ? { authorized: { type: 'repository', name: authorized.repository, action: authorized.action } } : {}) },
  });
  const full = (params: { project_name: string; repository_name: string }) => `${params.project_name}/${params.repository_name}`;
  const projectId = (ctx: ApiContext, name: string) => ctx.access.projectId(name) ?? 0;

  const repositoryModel = (r: RepositoryItem, ctx: ApiContext): z.input<typeof Repository> => ({
    id: r.id,
    project_id: projectId(ctx, r.project),
    name: r.name,
    description: r.description,
    artifact_count: r.artifactCount,
    pull_count: r.pullCount,
    creation_time: iso(r.createdAt),
    update_time: iso(r.updatedAt),
  });

  const tagModel = (t: TagItem, repository: string, repositoryId: number, pulledAt: number | null): z.input<typeof Tag> => ({
    repository_id: repositoryId,
    name: t.name,
    push_time: iso(t.pushedAt),
    pull_time: pulledAt === null ? NEVER : iso(pulledAt),
    immutable: deps.immutable(repository, t.name),
  });

  const artifactModel = (a: ArtifactView, repository: string, ctx: ApiContext): z.input<typeof Artifact> => {
    const isIndex = a.mediaType === MEDIA.ociIndex || a.mediaType === MEDIA.dockerList;
    return {
      type: artifactTypeOf(a.mediaType, a.artifactType),
      media_type: isIndex ? a.mediaType : (a.artifactType ?? a.mediaType),
      manifest_media_type: a.mediaType,
      artifact_type: a.artifactType ?? a.mediaType,
      project_id: projectId(ctx, repository.split('/')[0]!),
      repository_id: a.repositoryId,
      repository_name: repository,
      digest: a.digest,
      size: a.totalSize,
      push_time: iso(a.pushedAt),
      pull_time: a.pulledAt === null ? NEVER : iso(a.pulledAt),
      annotations: a.annotations ?? {},
      references: isIndex ? referencesOf(a.content) : [],
      tags: a.tags ? a.tags.map((t) => tagModel(t, repository, a.repositoryId, a.pulledAt)) : null,
      labels: null,
    };
  };

  const repositoryQuery = {
    q: z.string().optional().describe(`Harbor's query: ${Object.keys(REPOSITORY_FILTER_FIELDS).join(', ')}.`),
    sort: z.string().optional().describe(`${REPOSITORY_SORT_FIELDS.join(', ')}, "-" for descending; then by name.`),
    ...pagingQuery,
  };

  /** A page of the repositories the caller sees, all or one project's. */
  const listPage = async (query: { q?: string; sort?: string; page: number; page_size: number }, ctx: ApiContext, project?: string) => {
    const page = pageOf(query);
    const { items, total } = await repositories.list(ctx.caller.principal, { project, filter: parseQ(query.q, REPOSITORY_FILTER_FIELDS), sort: parseSort(query.sort, REPOSITORY_SORT_FIELDS), page });
    return listed(ctx, items.map((r) => repositoryModel(r, ctx)), total, page);
  };

  const listAll = defineRoute({
    method: 'GET',
    path: '/repositories',
    operationId: 'listAllRepositories',
    summary: 'Every repository the caller may see',
    description: 'Those of the projects the caller sees (GET /projects): system admins all.',
    tag: 'repository',
    access: access.public(),
    query: z.object(repositoryQuery),
    responses: { 200: listResponse('A page of repositories, by name.', Repository) },
    handler: async ({ query }, ctx) => listPage(query, ctx),
  });

  const list = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories',
    operationId: 'listRepositories',
    summary: "A project's repositories",
    tag: 'repository',
    access: access.project('repository', 'list', project),
    params: projectParams,
    query: z.object(repositoryQuery),
    responses: { 200: listResponse('A page of repositories, by name.', Repository) },
    errors: [404],
    handler: async ({ params, query }, ctx) => listPage(query, ctx, params.project_name),
  });

  const get = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories/{repository_name}',
    operationId: 'getRepository',
    summary: 'A repository',
    tag: 'repository',
    access: access.project('repository', 'read', project),
    params: repoParams,
    responses: { 200: { description: 'The repository.', schema: Repository } },
    errors: [404],
    handler: async ({ params }, ctx) => respond(200, repositoryModel(await repositories.repository(full(params)), ctx)),
  });

  const update = defineRoute({
    method: 'PUT',
    path: '/projects/{project_name}/repositories/{repository_name}',
    operationId: 'updateRepository',
    summary: "Change a repository's description",
    tag: 'repository',
    access: access.project('repository', 'update', project),
    params: repoParams,
    body: RepositoryReq,
    responses: { 200: { description: 'Updated.' } },
    errors: [404],
    handler: async ({ params, body }) => {
      await repositories.describe(full(params), body.description);
      return respond(200, undefined);
    },
  });

  const remove = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name}/repositories/{repository_name}',
    operationId: 'deleteRepository',
    summary: 'Delete a repository',
    description: 'Every artifact and tag of it, through the registry\'s delete policy; its blobs are unlinked (their bytes wait for garbage collection).',
    tag: 'repository',
    access: access.project('repository', 'delete', project),
    params: repoParams,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404, 405],
    handler: async ({ params }, ctx) => {
      await repositories.delete(await coreCaller(ctx), full(params));
      return respond(200, undefined);
    },
  });

  const scanOverviews = async (wanted: boolean | undefined, digests: string[]) => (wanted && deps.scanOverviews ? deps.scanOverviews(digests) : undefined);
  const withOverview = (a: z.input<typeof Artifact>, overviews: Map<string, z.input<typeof ScanOverview>> | undefined) => {
    const overview = overviews?.get(a.digest);
    return overview ? { ...a, scan_overview: overview } : a;
  };

  const flags = {
    with_tag: flag.default(true).describe('Include each artifact\'s tags.'),
    with_label: flag.optional().describe('Accepted; labels are not supported (always null).'),
    with_scan_overview: flag.optional().describe("Include each artifact's scan_overview: its latest vulnerability report's summary."),
    with_signature: flag.optional().describe('Accepted; ignored.'),
    with_immutable_status: flag.optional().describe('Accepted; every tag carries its `immutable` flag anyway.'),
    with_accessory: flag.optional().describe('Accepted; ignored.'),
    tags_limit: z.coerce.number().int().min(0).max(1000).optional().describe("minato: at most this many of each artifact's tags (the first by name), with tag_count giving how many it has; an artifact with thousands of tags costs a page that much less."),
  };

  /** With tags_limit, the first tags of each artifact and how many it has. */
  const limitTags = <A extends { tags: unknown[] | null }>(a: A, limit: number | undefined): A & { tag_count?: number } =>
    limit === undefined || a.tags === null ? a : { ...a, tags: a.tags.slice(0, limit), tag_count: a.tags.length };

  const listArtifacts = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts',
    operationId: 'listArtifacts',
    summary: "A repository's artifacts",
    description: 'Newest push first unless sorted otherwise. q= takes tags=* (tagged), tags=nil (untagged), tags=v or tags=~v. The children of an index are its references, not listed themselves unless tagged.',
    tag: 'artifact',
    access: access.project('artifact', 'list', project),
    params: repoParams,
    query: z.object({
      q: z.string().optional().describe(`Harbor's query: ${Object.keys(ARTIFACT_FILTER_FIELDS).join(', ')}.`),
      sort: z.string().optional().describe(`${ARTIFACT_SORT_FIELDS.join(', ')}, "-" for descending.`),
      ...flags,
      ...pagingQuery,
    }),
    responses: { 200: listResponse('A page of artifacts.', Artifact) },
    errors: [404],
    handler: async ({ params, query }, ctx) => {
      const page = pageOf(query);
      const name = full(params);
      const { items, total } = await repositories.artifacts(name, { filter: parseQ(query.q, ARTIFACT_FILTER_FIELDS), sort: parseSort(query.sort, ARTIFACT_SORT_FIELDS), page }, query.with_tag);
      const overviews = await scanOverviews(query.with_scan_overview, items.map((a) => a.digest));
      return listed(ctx, items.map((a) => withOverview(limitTags(artifactModel(a, name, ctx), query.tags_limit), overviews)), total, page);
    },
  });

  const copy = defineRoute({
    method: 'POST',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts',
    operationId: 'CopyArtifact',
    summary: 'Copy an artifact from another repository',
    description: 'No bytes move: its blobs are linked here and its manifests (an index with its children) stored, through the registry\'s push policy of this repository. Tagged as in the source when `from` names a tag.',
    tag: 'artifact',
    access: access.project('artifact', 'create', project),
    params: repoParams,
    query: z.object({ from: z.string().min(3).max(512).describe('"project/repository:tag" or "project/repository@sha256:...".') }),
    responses: { 201: { description: 'Copied.', headers: { Location: { description: 'The artifact here.', schema: z.string(), required: true } } } },
    errors: [404],
    handler: async ({ params, query }, ctx) => {
      const digest = await repositories.copy(await coreCaller(ctx, { repository: full(params), action: 'push' }), full(params), query.from);
      return respond(201, undefined, { Location: artifactPath(params.project_name, params.repository_name, digest) });
    },
  });

  const getArtifact = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}',
    operationId: 'getArtifact',
    summary: 'An artifact',
    tag: 'artifact',
    access: access.project('artifact', 'read', project),
    params: artifactParams,
    query: z.object(flags),
    responses: { 200: { description: 'The artifact.', schema: Artifact } },
    errors: [404],
    handler: async ({ params, query }, ctx) => {
      const name = full(params);
      const a = await repositories.artifact(name, params.reference);
      const overviews = await scanOverviews(query.with_scan_overview, [a.digest]);
      return respond(200, withOverview(artifactModel(query.with_tag ? a : { ...a, tags: undefined }, name, ctx), overviews));
    },
  });

  const deleteArtifact = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}',
    operationId: 'deleteArtifact',
    summary: 'Delete an artifact',
    description: 'By tag or digest: the artifact goes with every tag pointing at it.',
    tag: 'artifact',
    access: access.project('artifact', 'delete', project),
    params: artifactParams,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404, 405],
    handler: async ({ params }, ctx) => {
      await repositories.deleteArtifact(await coreCaller(ctx, { repository: full(params), action: 'delete' }), full(params), params.reference);
      return respond(200, undefined);
    },
  });

  const listTags = defineRoute({
    method: 'GET',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/tags',
    operationId: 'listTags',
    summary: "An artifact's tags",
    tag: 'artifact',
    access: access.project('tag', 'list', project),
    params: artifactParams,
    query: z.object({
      q: z.string().optional().describe(`Harbor's query: ${Object.keys(TAG_FILTER_FIELDS).join(', ')}.`),
      sort: z.string().optional().describe(`${TAG_SORT_FIELDS.join(', ')}, "-" for descending; then by name.`),
      with_signature: flag.optional(),
      with_immutable_status: flag.optional(),
      ...pagingQuery,
    }),
    responses: { 200: listResponse('A page of tags.', Tag) },
    errors: [404],
    handler: async ({ params, query }, ctx) => {
      const page = pageOf(query);
      const name = full(params);
      const artifact = await repositories.artifact(name, params.reference);
      const { items, total } = await repositories.tags(name, artifact.digest, { filter: parseQ(query.q, TAG_FILTER_FIELDS), sort: parseSort(query.sort, TAG_SORT_FIELDS), page });
      return listed(ctx, items.map((t) => tagModel(t, name, artifact.repositoryId, artifact.pulledAt)), total, page);
    },
  });

  const createTag = defineRoute({
    method: 'POST',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/tags',
    operationId: 'createTag',
    summary: 'Tag an artifact',
    description: 'A tag that points at another artifact of the repository moves here (a retag), through the registry\'s tag policy.',
    tag: 'artifact',
    access: access.project('tag', 'create', project),
    params: artifactParams,
    body: TagReq,
    responses: { 201: { description: 'Tagged.', headers: { Location: { description: 'The tag.', schema: z.string(), required: true } } } },
    errors: [404],
    handler: async ({ params, body }, ctx) => {
      const name = full(params);
      await repositories.addTag(await coreCaller(ctx, { repository: name, action: 'push' }), name, params.reference, body.name);
      return respond(201, undefined, { Location: `${artifactPath(params.project_name, params.repository_name, params.reference)}/tags/${body.name}` });
    },
  });

  const deleteTag = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/tags/{tag_name}',
    operationId: 'deleteTag',
    summary: 'Delete a tag',
    description: 'The artifact stays.',
    tag: 'artifact',
    access: access.project('tag', 'delete', project),
    params: tagParams,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404, 405],
    handler: async ({ params }, ctx) => {
      await repositories.deleteTag(await coreCaller(ctx, { repository: full(params), action: 'delete' }), full(params), params.reference, params.tag_name);
      return respond(200, undefined);
    },
  });

  return [listAll, list, get, update, remove, listArtifacts, copy, getArtifact, deleteArtifact, listTags, createTag, deleteTag];
}
