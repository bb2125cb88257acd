// The cold queries of project usage (metadata-store.ts, "Project usage"), written once for both
// stores: the recount of a project's counted sets and total from its links and manifests, and
// the list of projects a recount of the whole registry visits. They are Kysely queries compiled
// for the store's dialect and run on the connection of the store's own transaction (a recount
// must see and lock what the transaction sees). The hot accounting, on every push and delete,
// is each store's own prepared statements.
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type ExpressionBuilder,
} from 'kysely';
import type { UsageRecount } from './metadata-store.js';
import { sqlProjectOf, type SqlDialect } from './migrations.js';
import type { Database } from './schema.js';

/** SQL of the store's dialect with its parameters (a CompiledQuery is one). */
export interface SqlQuery {
  sql: string;
  parameters: readonly unknown[];
}

/** Runs compiled queries on a store's transaction. */
export interface QueryRunner {
  rows<R>(query: SqlQuery): Promise<R[]>;
  /** Runs a change; resolves to the number of rows it changed. */
  change(query: SqlQuery): Promise<number>;
}

/** Query builders that only compile (no connection). */
const builders: Record<SqlDialect, Kysely<Database>> = {
  sqlite: new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),
  postgres: new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
};

/** Rows inserted per statement (well below either database's limit on bound parameters). */
const INSERT_BATCH = 500;

type Entry = { digest: string; size: number; links: number };
type ContentTable = 'project_blobs' | 'project_manifests';

/**
 * The project's repositories: its own name or "<project>/..." (a range scan of the unique index
 * on names: every name starting "p/" sorts between "p/" and "p0", "0" following "/" in byte order).
 */
function inProject(project: string) {
  return (eb: ExpressionBuilder<Database & { r: Database['repositories'] }, 'r'>) =>
    eb.or([eb('r.name', '=', project), eb.and([eb('r.name', '>=', `${project}/`), eb('r.name', '<', `${project}0`)])]);
}

/**
 * Recounts the project's usage and keeps the recount. The caller's transaction must hold the
 * project's usage lock (MetadataTx.projectQuota) so that no push changes it meanwhile.
 */
export async function recountProjectUsage(run: QueryRunner, dialect: SqlDialect, project: string): Promise<UsageRecount> {
  const db = builders[dialect];
  // A released link that a manifest still references cannot arise from the store's own changes;
  // it would hide a blob that manifest needs, so it is held again.
  const linksFixed = await run.change(
    db
      .updateTable('repository_blobs')
      .set({ released: 0 })
      .where('released', '<>', 0)
      .where('repository_id', 'in', db.selectFrom('repositories as r').select('r.id').where(inProject(project)))
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('manifest_references as mr')
            .select(sql.lit(1).as('one'))
            .whereRef('mr.repository_id', '=', 'repository_blobs.repository_id')
            .whereRef('mr.child_digest', '=', 'repository_blobs.digest'),
        ),
      )
      .compile(),
  );
  const blobs = await run.rows<Entry>(
    db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .where('rb.released', '=', 0)
      .where(inProject(project))
      .groupBy('rb.digest')
      .select((eb) => ['rb.digest as digest', eb.fn.max('b.size').as('size'), eb.fn.countAll<number>().as('links')])
      .compile(),
  );
  const manifests = await run.rows<Entry>(
    db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .where(inProject(project))
      .groupBy('m.digest')
      .select((eb) => ['m.digest as digest', eb.fn.max('m.size').as('size'), eb.fn.countAll<number>().as('links')])
      .compile(),
  );
  const blobsFixed = await putRight(run, db, 'project_blobs', project, blobs);
  const manifestsFixed = await putRight(run, db, 'project_manifests', project, manifests);
  const kept = await run.rows<{ used: number }>(db.selectFrom('project_usage').select('used').where('project', '=', project).compile());
  const before = kept[0] === undefined ? 0 : Number(kept[0].used);
  const after = [...blobs, ...manifests].reduce((sum, e) => sum + Number(e.size), 0);
  if (kept[0] === undefined || before !== after) {
    await run.change(
      db
        .insertInto('project_usage')
        .values({ project, used: after })
        .onConflict((oc) => oc.column('project').doUpdateSet({ used: after }))
        .compile(),
    );
  }
  return { project, before, after, blobsFixed, manifestsFixed, linksFixed };
}

/** Makes a counted set equal to `expected`; returns how many entries were wrong. */
async function putRight(run: QueryRunner, db: Kysely<Database>, table: ContentTable, project: string, expected: Entry[]): Promise<number> {
  const kept = await run.rows<Entry>(db.selectFrom(table).select(['digest', 'size', 'links']).where('project', '=', project).compile());
  const keptByDigest = new Map(kept.map((e) => [e.digest, e]));
  let wrong = 0;
  for (const e of expected) {
    const k = keptByDigest.get(e.digest);
    if (!k || Number(k.size) !== Number(e.size) || Number(k.links) !== Number(e.links)) wrong++;
    keptByDigest.delete(e.digest);
  }
  wrong += keptByDigest.size; // entries nothing holds any more
  if (wrong === 0) return 0;
  await run.change(db.deleteFrom(table).where('project', '=', project).compile());
  for (let i = 0; i < expected.length; i += INSERT_BATCH) {
    const rows = expected.slice(i, i + INSERT_BATCH).map((e) => ({ project, digest: e.digest, size: Number(e.size), links: Number(e.links) }));
    await run.change(db.insertInto(table).values(rows).compile());
  }
  return wrong;
}

/** Every project with a row, a kept usage or a repository, in byte order. */
export function usageProjectsQuery(dialect: SqlDialect): CompiledQuery<{ project: string }> {
  const db = builders[dialect];
  const fromRepositories = db.selectFrom('repositories').select(sqlProjectOf(dialect, sql.ref('name')).as('project'));
  return db
    .selectFrom('project_usage')
    .select('project')
    .union(db.selectFrom('projects').select('name as project'))
    .union(fromRepositories)
    .orderBy('project')
    .compile();
}
