// The read side of repositories, artifacts and tags for the management API: listings with
// Harbor's q=, sort= and pages, each with the counts and times Harbor's models carry (artifact
// count, pull count and time from artifact_pulls, push time). Kysely, so it runs on SQLite and
// PostgreSQL; the writes are the registry's use cases (core/artifacts.ts).
//
// A repository is listed while it holds an artifact: repository rows are never deleted, so one
// whose artifacts were all deleted is gone. An artifact is a manifest of the repository that is
// not only a child of an index there (children appear as the index's references), unless tagged.
//
// Cost: one query per page plus one count, with per-row index probes (manifests by repository,
// tags by repository and digest, pulls by repository and digest).
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Db } from './db.js';
import { filterSql, offsetOf, type Filter, type Page, type SortKey } from './list-query.js';
import { isPostgres } from './outbox.js';

export const REPOSITORY_FILTER_FIELDS = { name: 'string', creation_time: 'time' } as const;
export const REPOSITORY_SORT_FIELDS = ['name', 'creation_time', 'update_time'] as const;
export const ARTIFACT_FILTER_FIELDS = { digest: 'string', media_type: 'string', push_time: 'time', tags: 'string' } as const;
export const ARTIFACT_SORT_FIELDS = ['push_time', 'digest'] as const;
export const TAG_FILTER_FIELDS = { name: 'string', push_time: 'time' } as const;
export const TAG_SORT_FIELDS = ['name', 'push_time'] as const;

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Which repositories a caller sees: all, or those of these projects. */
export type RepositoryScope = { all: true } | { projects: string[] };

export interface RepositoryItem {
  id: number;
  name: string;
  project: string;
  description: string;
  artifactCount: number;
  pullCount: number;
  createdAt: number;
  /** The last push (ms). */
  updatedAt: number;
}

export interface ArtifactItem {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  /** Manifest plus the blobs it references. */
  totalSize: number;
  content: Buffer;
  annotations: Record<string, string> | null;
  pushedAt: number;
  pulledAt: number | null;
}

export interface TagItem {
  name: string;
  digest: string;
  pushedAt: number;
}

type Eb = ExpressionBuilder<any, any>;

/** The project part of a repository name column, as SQL. */
function projectPart(db: Db, column: string) {
  const col = sql.ref(column);
  return isPostgres(db) ? sql<string>`split_part(${col}, '/', 1)` : sql<string>`case when instr(${col}, '/') > 0 then substr(${col}, 1, instr(${col}, '/') - 1) else ${col} end`;
}

const holdsArtifacts = (eb: Eb) => eb.exists(eb.selectFrom('manifests as hm').select('hm.digest').whereRef('hm.repository_id', '=', 'r.id'));

export class ContentQueries {
  constructor(private readonly db: Db) {}

  /** A page of repositories (of one project, or all those the scope allows). */
  async repositories(q: { scope: RepositoryScope; project?: string; filter: Filter<typeof REPOSITORY_FILTER_FIELDS>; sort: Array<SortKey<(typeof REPOSITORY_SORT_FIELDS)[number]>>; page: Page; withTotal?: boolean }): Promise<{ items: RepositoryItem[]; total: number }> {
    const where = (eb: Eb) => {
      const parts: Expression<SqlBool>[] = [holdsArtifacts(eb), filterSql(eb, q.filter, { name: 'r.name', creation_time: 'r.created_at' })];
      if (q.project !== undefined) {
        const p = q.project;
        parts.push(eb.or([eb('r.name', '=', p), eb.and([eb('r.name', '>=', `${p}/`), eb('r.name', '<', `${p}0`)])]));
      }
      if (!('all' in q.scope)) parts.push(q.scope.projects.length ? eb(projectPart(this.db, 'r.name'), 'in', q.scope.projects) : sql<SqlBool>`1 = 0`);
      return eb.and(parts);
    };
    const pushed = (eb: Eb) => eb.selectFrom('manifests as um').select((e) => e.fn.max('um.created_at').as('t')).whereRef('um.repository_id', '=', 'r.id');
    let rows = this.db
      .selectFrom('repositories as r')
      .leftJoin('repository_descriptions as rd', 'rd.repository_id', 'r.id')
      .select(['r.id', 'r.name', 'rd.description', 'r.created_at'])
      .select((eb) => [
        eb.selectFrom('manifests as cm').select((e) => e.fn.countAll<number>().as('n')).whereRef('cm.repository_id', '=', 'r.id').as('artifact_count'),
        eb.selectFrom('artifact_pulls as ap').select((e) => e.fn.sum<number>('ap.pull_count').as('n')).whereRef('ap.repository_id', '=', 'r.id').as('pull_count'),
        pushed(eb).as('updated_at'),
      ])
      .where(where);
    const columns = { name: 'r.name', creation_time: 'r.created_at', update_time: 'updated_at' } as const;
    for (const key of q.sort) rows = rows.orderBy(sql.ref(columns[key.field]), key.desc ? 'desc' : 'asc');
    rows = rows.orderBy('r.name');
    const [items, count] = await Promise.all([
      rows.limit(q.page.pageSize).offset(offsetOf(q.page)).execute(),
      q.withTotal === false ? { n: -1 } : this.db.selectFrom('repositories as r').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow(),
    ]);
    return {
      items: items.map((r) => ({
        id: Number(r.id),
        name: r.name,
        project: r.name.split('/')[0]!,
        description: r.description ?? '',
        artifactCount: Number(r.artifact_count ?? 0),
        pullCount: Number(r.pull_count ?? 0),
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at ?? r.created_at),
      })),
      total: Number(count.n),
    };
  }

  /** One repository, if it holds an artifact. */
  async repository(name: string): Promise<RepositoryItem | undefined> {
    const { items } = await this.repositories({ scope: { all: true }, filter: { name: { op: 'eq', value: name } }, sort: [], page: { page: 1, pageSize: 1 }, withTotal: false });
    return items[0];
  }

  async setDescription(repositoryId: number, description: string): Promise<void> {
    await this.db
      .insertInto('repository_descriptions')
      .values({ repository_id: repositoryId, description })
      .onConflict((oc) => oc.column('repository_id').doUpdateSet({ description }))
      .execute();
  }

  async clearDescription(repositoryId: number): Promise<void> {
    await this.db.deleteFrom('repository_descriptions').where('repository_id', '=', repositoryId).execute();
  }

  /** Every manifest and blob of a repository (what deleting it removes). */
  async contents(repositoryId: number): Promise<{ manifests: string[]; blobs: string[] }> {
    const [manifests, blobs] = await Promise.all([
      this.db.selectFrom('manifests').select('digest').where('repository_id', '=', repositoryId).execute(),
      this.db.selectFrom('repository_blobs').select('digest').where('repository_id', '=', repositoryId).execute(),
    ]);
    return { manifests: manifests.map((m) => m.digest), blobs: blobs.map((b) => b.digest) };
  }

  /** A page of a repository's artifacts, newest push first unless sorted otherwise. */
  async artifacts(repositoryId: number, filter: Filter<typeof ARTIFACT_FILTER_FIELDS>, sort: Array<SortKey<(typeof ARTIFACT_SORT_FIELDS)[number]>>, page: Page): Promise<{ items: ArtifactItem[]; total: number }> {
    const { tags, ...plain } = filter;
    const tagged = (eb: Eb) => eb.exists(eb.selectFrom('tags as tt').select('tt.name').whereRef('tt.repository_id', '=', 'm.repository_id').whereRef('tt.digest', '=', 'm.digest'));
    const where = (eb: Eb) => {
      const parts: Expression<SqlBool>[] = [
        eb('m.repository_id', '=', repositoryId),
        // Not only a child of an index here (children are its references), unless tagged.
        eb.or([eb.not(eb.exists(eb.selectFrom('manifest_references as mr').select('mr.child_digest').whereRef('mr.repository_id', '=', 'm.repository_id').whereRef('mr.child_digest', '=', 'm.digest'))), tagged(eb)]),
        filterSql(eb, plain, { digest: 'm.digest', media_type: 'm.media_type', push_time: 'm.created_at' }),
      ];
      if (tags) {
        // Harbor's tags=* (tagged), tags=nil (untagged), tags=v and tags=~v.
        if (tags.op === 'eq' && tags.value === '*') parts.push(tagged(eb));
        else if (tags.op === 'eq' && tags.value === 'nil') parts.push(eb.not(tagged(eb)));
        else {
          parts.push(
            eb.exists(
              eb.selectFrom('tags as ft').select('ft.name').whereRef('ft.repository_id', '=', 'm.repository_id').whereRef('ft.digest', '=', 'm.digest').where((e) => filterSql(e, { name: tags }, { name: 'ft.name' })),
            ),
          );
        }
      }
      return eb.and(parts);
    };
    // The page's keys first (sorting only digests and times), then the details of those rows:
    // selecting the content and the size subquery with the sort would compute and carry them for
    // every artifact of the repository (measured: 19 ms against 3 ms for 10 of 1,000).
    let keys = this.db.selectFrom('manifests as m').select('m.digest').where(where);
    const columns = { push_time: 'm.created_at', digest: 'm.digest' } as const;
    for (const key of sort.length ? sort : [{ field: 'push_time' as const, desc: true }]) keys = keys.orderBy(sql.ref(columns[key.field]), key.desc ? 'desc' : 'asc');
    keys = keys.orderBy('m.digest');
    const [page_, count] = await Promise.all([
      keys.limit(page.pageSize).offset(offsetOf(page)).execute(),
      this.db.selectFrom('manifests as m').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow(),
    ]);
    const digests = page_.map((r) => r.digest);
    const details = new Map((await this.details(repositoryId, digests)).map((a) => [a.digest, a]));
    return { items: digests.map((d) => details.get(d)).filter((a): a is ArtifactItem => a !== undefined), total: Number(count.n) };
  }

  /** The artifacts of these digests, with sizes and pull times. */
  private async details(repositoryId: number, digests: readonly string[]): Promise<ArtifactItem[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifests as m')
      .leftJoin('artifact_pulls as p', (j) => j.onRef('p.repository_id', '=', 'm.repository_id').onRef('p.digest', '=', 'm.digest'))
      .select(['m.repository_id', 'm.digest', 'm.media_type', 'm.artifact_type', 'm.size', 'm.content', 'm.annotations', 'm.created_at', 'p.pull_time'])
      .select((eb) =>
        eb
          .selectFrom('manifest_references as br')
          .innerJoin('blobs as b', 'b.digest', 'br.child_digest')
          .select((e) => e.fn.sum<number>('b.size').as('n'))
          .whereRef('br.repository_id', '=', 'm.repository_id')
          .whereRef('br.manifest_digest', '=', 'm.digest')
          .as('blob_size'),
      )
      .where('m.repository_id', '=', repositoryId)
      .where('m.digest', 'in', [...digests])
      .execute();
    return rows.map((r) => ({
      repositoryId: Number(r.repository_id),
      digest: r.digest,
      mediaType: r.media_type,
      artifactType: r.artifact_type,
      size: Number(r.size),
      totalSize: Number(r.size) + Number(r.blob_size ?? 0),
      content: Buffer.from(r.content),
      annotations: r.annotations === null ? null : (JSON.parse(r.annotations) as Record<string, string>),
      pushedAt: Number(r.created_at),
      pulledAt: r.pull_time === null ? null : Number(r.pull_time),
    }));
  }

  /** One artifact by digest (a child of an index too, which lists do not show on its own). */
  async artifact(repositoryId: number, digest: string): Promise<ArtifactItem | undefined> {
    return (await this.details(repositoryId, [digest]))[0];
  }

  async resolveTag(repositoryId: number, tag: string): Promise<string | undefined> {
    return (await this.db.selectFrom('tags').select('digest').where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirst())?.digest;
  }

  /** The tags of these artifacts, by digest (one query for a page). */
  async tagsOf(repositoryId: number, digests: readonly string[]): Promise<Map<string, TagItem[]>> {
    const out = new Map<string, TagItem[]>();
    if (digests.length === 0) return out;
    // Sorted here, not in SQL: "order by name" would make SQLite walk the repository's whole
    // (repository_id, name) key in order instead of looking the digests up (measured: 16 ms
    // against 3 ms for a page of 100 artifacts in a repository of 20,000 tags).
    const rows = await this.db.selectFrom('tags').select(['name', 'digest', 'updated_at']).where('repository_id', '=', repositoryId).where('digest', 'in', [...digests]).execute();
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const r of rows) {
      const list = out.get(r.digest) ?? [];
      list.push({ name: r.name, digest: r.digest, pushedAt: Number(r.updated_at) });
      out.set(r.digest, list);
    }
    return out;
  }

  /** A page of one artifact's tags. */
  async tags(repositoryId: number, digest: string, filter: Filter<typeof TAG_FILTER_FIELDS>, sort: Array<SortKey<(typeof TAG_SORT_FIELDS)[number]>>, page: Page): Promise<{ items: TagItem[]; total: number }> {
    const where = (eb: Eb) => eb.and([eb('t.repository_id', '=', repositoryId), eb('t.digest', '=', digest), filterSql(eb, filter, { name: 't.name', push_time: 't.updated_at' })]);
    let rows = this.db.selectFrom('tags as t').select(['t.name', 't.digest', 't.updated_at']).where(where);
    const columns = { name: 't.name', push_time: 't.updated_at' } as const;
    for (const key of sort) rows = rows.orderBy(sql.ref(columns[key.field]), key.desc ? 'desc' : 'asc');
    rows = rows.orderBy('t.name');
    const [items, count] = await Promise.all([
      rows.limit(page.pageSize).offset(offsetOf(page)).execute(),
      this.db.selectFrom('tags as t').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow(),
    ]);
    return { items: items.map((r) => ({ name: r.name, digest: r.digest, pushedAt: Number(r.updated_at) })), total: Number(count.n) };
  }
}
