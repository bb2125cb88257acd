// Repositories, artifacts and tags as the management API and the CLI see them: listings (what the
// caller may see), one repository or artifact, and the changes (description, deleting a
// repository or an artifact, copying an artifact, adding and deleting tags). Changes go through
// core/artifacts.ts, so the registry's policy points (permissions, quotas, immutability) and its
// events apply as they do to the same change made over /v2.
import type { Principal } from '../auth/policy.js';
import { ARTIFACT_FILTER_FIELDS, ARTIFACT_SORT_FIELDS, REPOSITORY_FILTER_FIELDS, REPOSITORY_SORT_FIELDS, TAG_FILTER_FIELDS, TAG_SORT_FIELDS, type ArtifactItem, type ContentQueries, type RepositoryItem, type TagItem } from '../metadata/content-queries.js';
import type { Filter, Page, SortKey } from '../metadata/list-query.js';
import { parseReference } from '../oci/names.js';
import type { Caller } from '../policy/policy.js';
import type { Artifacts } from './artifacts.js';
import { invalid, notFound } from '../util/domain-error.js';
import type { ProjectCatalog } from './project-catalog.js';

export interface ListOf<F extends Record<string, any>, S extends string> {
  filter: Filter<F>;
  sort: Array<SortKey<S>>;
  page: Page;
}

/** An artifact with its tags (when asked for). */
export interface ArtifactView extends ArtifactItem {
  tags?: TagItem[];
}

export class Repositories {
  constructor(
    private readonly queries: ContentQueries,
    private readonly artifactsCore: Artifacts,
    private readonly projects: ProjectCatalog,
  ) {}

  /** Repositories the caller may see: of one project (its access rule decided), or of every project it sees. */
  async list(principal: Principal, q: ListOf<typeof REPOSITORY_FILTER_FIELDS, (typeof REPOSITORY_SORT_FIELDS)[number]> & { project?: string }) {
    const scope = q.project !== undefined ? { all: true as const } : await this.projects.scope(principal);
    const repositoryScope = 'all' in scope && scope.all ? { all: true as const } : { projects: await this.projects.queries.names(scope) };
    return this.queries.repositories({ ...q, scope: repositoryScope });
  }

  /** A repository that holds an artifact; NOT_FOUND otherwise. */
  async repository(name: string): Promise<RepositoryItem> {
    const repo = await this.queries.repository(name);
    if (!repo) throw notFound(`repository ${name} does not exist (or holds no artifact)`);
    return repo;
  }

  async describe(name: string, description: string): Promise<void> {
    if (description.length > 4096) throw invalid('description is longer than 4096 characters');
    await this.queries.setDescription((await this.repository(name)).id, description);
  }

  /** Deletes every artifact and tag of a repository, and unlinks its blobs (the bytes wait for garbage collection). */
  async delete(caller: Caller, name: string): Promise<void> {
    const repo = await this.repository(name);
    const { manifests, blobs } = await this.queries.contents(repo.id);
    await this.artifactsCore.deleteRepository(caller, name, manifests, blobs);
    // A later push starts a new repository of that name, without the old description.
    await this.queries.clearDescription(repo.id);
  }

  async artifacts(repository: string, q: ListOf<typeof ARTIFACT_FILTER_FIELDS, (typeof ARTIFACT_SORT_FIELDS)[number]>, withTags: boolean): Promise<{ items: ArtifactView[]; total: number }> {
    const repo = await this.repository(repository);
    const { items, total } = await this.queries.artifacts(repo.id, q.filter, q.sort, q.page);
    if (!withTags) return { items, total };
    const tags = await this.queries.tagsOf(repo.id, items.map((a) => a.digest));
    return { items: items.map((a) => ({ ...a, tags: tags.get(a.digest) ?? [] })), total };
  }

  /** One artifact by tag or digest, with its tags. */
  async artifact(repository: string, reference: string): Promise<ArtifactView & { repository: RepositoryItem }> {
    const repo = await this.repository(repository);
    const digest = await this.digestOf(repo, reference);
    const artifact = await this.queries.artifact(repo.id, digest);
    if (!artifact) throw notFound(`artifact ${reference} is not in repository ${repository}`);
    return { ...artifact, tags: (await this.queries.tagsOf(repo.id, [digest])).get(digest) ?? [], repository: repo };
  }

  /** Deletes an artifact (by tag or digest) with every tag pointing at it. */
  async deleteArtifact(caller: Caller, repository: string, reference: string): Promise<void> {
    const digest = await this.digestOf(await this.repository(repository), reference);
    await this.artifactsCore.deleteManifest(caller, repository, digest);
  }

  /**
   * Copies the artifact `from` names ("project/repo:tag" or "project/repo@sha256:...") into
   * `repository`, tagged as in the source when it named a tag. Returns the digest.
   */
  async copy(caller: Caller, repository: string, from: string): Promise<string> {
    const m = /^([^:@]+)(?::([^@]+)|@(.+))$/.exec(from);
    if (!m) throw invalid(`from must be "project/repository:tag" or "project/repository@sha256:...", not "${from.slice(0, 200)}"`);
    const [, source, tag, digest] = m;
    await this.repository(source!);
    const reference = tag ?? digest!;
    parseReference(reference);
    return this.artifactsCore.copy(caller, source!, reference, repository, tag);
  }

  async tags(repository: string, reference: string, q: ListOf<typeof TAG_FILTER_FIELDS, (typeof TAG_SORT_FIELDS)[number]>) {
    const repo = await this.repository(repository);
    return this.queries.tags(repo.id, await this.digestOf(repo, reference), q.filter, q.sort, q.page);
  }

  /** Points a tag at the artifact (moving it from another one: a retag). */
  async addTag(caller: Caller, repository: string, reference: string, tag: string): Promise<void> {
    const digest = await this.digestOf(await this.repository(repository), reference);
    await this.artifactsCore.tag(caller, repository, digest, tag);
  }

  /** Deletes a tag of the artifact (the artifact stays). */
  async deleteTag(caller: Caller, repository: string, reference: string, tag: string): Promise<void> {
    const repo = await this.repository(repository);
    const digest = await this.digestOf(repo, reference);
    const tags = (await this.queries.tagsOf(repo.id, [digest])).get(digest) ?? [];
    if (!tags.some((t) => t.name === tag)) throw notFound(`artifact ${reference} of ${repository} has no tag ${tag}`);
    await this.artifactsCore.deleteManifest(caller, repository, tag);
  }

  /** The digest a tag or digest names in the repository. */
  private async digestOf(repo: RepositoryItem, reference: string): Promise<string> {
    const ref = parseReference(reference);
    if (ref.kind === 'digest') return ref.digest;
    const digest = await this.queries.resolveTag(repo.id, ref.tag);
    if (digest === undefined) throw notFound(`tag ${ref.tag} is not in repository ${repo.name}`);
    return digest;
  }
}
