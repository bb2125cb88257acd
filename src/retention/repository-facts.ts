// What a retention run reads about a project's repositories: every manifest with its tags, push
// and pull times, subject and the manifests it references (retention-plan.ts's ManifestFacts).
// Kysely, so it runs on SQLite and PostgreSQL. Cost: four indexed queries per repository (its
// manifests, tags, references between its manifests, pulls), whatever its size.
//
// Times: `createdAt` is when the manifest was first stored in the repository; `pushedAt` the
// latest of that and the last time one of its tags was pushed or moved onto it (a re-push of an
// image as "latest" is a push of it); `pulledAt` the last pull (folded from pull events within
// seconds, events/pull-stats-sink.ts).
import type { Db } from '../metadata/db.js';
import type { ManifestFacts } from './retention-plan.js';

export class RepositoryFacts {
  constructor(private readonly db: Db) {}

  /** The repositories of a project that hold a manifest, by name. */
  async repositories(project: string): Promise<Array<{ id: number; name: string }>> {
    const rows = await this.db
      .selectFrom('repositories as r')
      .select(['r.id', 'r.name'])
      .where((eb) => eb.or([eb('r.name', '=', project), eb.and([eb('r.name', '>=', `${project}/`), eb('r.name', '<', `${project}0`)])]))
      .where((eb) => eb.exists(eb.selectFrom('manifests as m').select('m.digest').whereRef('m.repository_id', '=', 'r.id')))
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name }));
  }

  async manifests(repositoryId: number): Promise<ManifestFacts[]> {
    const [manifests, tags, references, pulls] = await Promise.all([
      this.db.selectFrom('manifests').select(['digest', 'media_type', 'subject', 'created_at']).where('repository_id', '=', repositoryId).execute(),
      this.db.selectFrom('tags').select(['name', 'digest', 'updated_at']).where('repository_id', '=', repositoryId).execute(),
      this.db
        .selectFrom('manifest_references as mr')
        .innerJoin('manifests as c', (j) => j.onRef('c.repository_id', '=', 'mr.repository_id').onRef('c.digest', '=', 'mr.child_digest'))
        .select(['mr.manifest_digest', 'mr.child_digest'])
        .where('mr.repository_id', '=', repositoryId)
        .execute(),
      this.db.selectFrom('artifact_pulls').select(['digest', 'pull_time']).where('repository_id', '=', repositoryId).execute(),
    ]);
    const tagsOf = new Map<string, Array<{ name: string; at: number }>>();
    for (const t of tags) {
      const list = tagsOf.get(t.digest) ?? [];
      list.push({ name: t.name, at: Number(t.updated_at) });
      tagsOf.set(t.digest, list);
    }
    const childrenOf = new Map<string, string[]>();
    for (const r of references) childrenOf.set(r.manifest_digest, [...(childrenOf.get(r.manifest_digest) ?? []), r.child_digest]);
    const pulled = new Map(pulls.map((p) => [p.digest, Number(p.pull_time)]));
    return manifests.map((m) => {
      const created = Number(m.created_at);
      const own = (tagsOf.get(m.digest) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return {
        digest: m.digest,
        mediaType: m.media_type,
        subject: m.subject,
        children: childrenOf.get(m.digest) ?? [],
        tags: own.map((t) => t.name),
        createdAt: created,
        pushedAt: Math.max(created, ...own.map((t) => t.at)),
        pulledAt: pulled.get(m.digest) ?? null,
      };
    });
  }
}
