// The garbage collector's statements inside a store's transaction (MetadataTx: claimBlob,
// missingReferences, manifestCollectable, unlinkUnreferenced's selection, markBlobs, the journal's
// moves), written once for both stores and run on the transaction's own connection. Each is one
// statement (a few for markBlobs) over a whole batch of digests: GC is set-based, never a loop of
// point queries. The PostgreSQL store takes its locks (usage row, then the digests' GC locks)
// before calling these; SQLite has one writer, so these see and change a still world.
//
// SQL is written with $1, $2 ... placeholders; on SQLite they become named parameters (@p1 ...),
// and lists of digests go in as one JSON array (json_each) instead of an array parameter.
import type { BlobDeletion, CollectedBlob } from './metadata-store.js';
import type { SqlDialect } from './migrations.js';
import type { QueryRunner, SqlQuery } from './project-usage.js';

/** key1 of the PostgreSQL advisory locks that serialise GC's mark of a digest with its commits (postgres-tx.ts lists the others). */
export const GC_LOCK_KEY = 0x6d696e63;

/** The statement in the dialect: placeholders and list parameters as the driver takes them. */
function query(dialect: SqlDialect, text: string, values: unknown[]): SqlQuery {
  if (dialect === 'postgres') return { sql: text, parameters: values };
  const named: Record<string, unknown> = {};
  values.forEach((v, i) => (named[`p${i + 1}`] = Array.isArray(v) ? JSON.stringify(v) : v));
  return { sql: text.replace(/\$(\d+)/g, '@p$1'), parameters: [named] };
}

/** `column IN list $n` in the dialect. */
function inList(dialect: SqlDialect, column: string, n: number): string {
  return dialect === 'postgres' ? `${column} = any($${n}::text[])` : `${column} in (select value from json_each($${n}))`;
}

/** The rows of list parameter $n as a table of one column `d`. */
function listTable(dialect: SqlDialect, n: number): string {
  return dialect === 'postgres' ? `unnest($${n}::text[]) as l(d)` : `(select value as d from json_each($${n})) as l`;
}

/** Takes the GC lock of each digest (PostgreSQL), sorted so that two lockers never wait on each other in a cycle. */
export async function lockDigests(run: QueryRunner, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  const sorted = [...new Set(digests)].sort();
  await run.rows(query('postgres', `select pg_advisory_xact_lock(${GC_LOCK_KEY}, hashtext(d)) from unnest($1::text[]) as l(d)`, [sorted]));
}

export async function claimBlob(run: QueryRunner, dialect: SqlDialect, digest: string, seen: BlobDeletion | undefined): Promise<boolean> {
  // A deletion that ended before the commit stored the bytes (the same seq as seen then) is over:
  // the bytes are this commit's. Any other deletion may have removed them after it stored them.
  const sameDeletion = seen?.state === 'deleted' && seen.seq !== null ? seen.seq : -1;
  if (dialect === 'postgres') {
    // One statement: the row as it was, and whether it could be taken back. A sweep that moved it
    // to `deleting` meanwhile holds its row lock; the delete waits, sees the new state, and skips.
    const [row] = await run.rows<{ state: string | null; claimed: boolean }>(
      query(
        dialect,
        'with was as (select state from blob_deletions where digest = $1), ' +
          "gone as (delete from blob_deletions where digest = $1 and (state = 'marked' or (state = 'deleted' and seq = $2)) returning 1) " +
          'select (select state from was) as state, exists (select 1 from gone) as claimed',
        [digest, sameDeletion],
      ),
    );
    if (row!.claimed) return true;
    return row!.state === null && seen?.state !== 'deleting';
  }
  const [row] = await run.rows<{ state: string; seq: number | null }>(query(dialect, 'select state, seq from blob_deletions where digest = $1', [digest]));
  if (row === undefined) return seen?.state !== 'deleting';
  if (row.state === 'marked' || (row.state === 'deleted' && Number(row.seq) === sameDeletion)) {
    await run.change(query(dialect, 'delete from blob_deletions where digest = $1', [digest]));
    return true;
  }
  return false;
}

export async function missingReferences(run: QueryRunner, dialect: SqlDialect, repository: string, blobs: readonly string[], manifests: readonly string[]): Promise<string[]> {
  if (blobs.length === 0 && manifests.length === 0) return [];
  const rows = await run.rows<{ d: string }>(
    query(
      dialect,
      `select l.d as d from ${listTable(dialect, 2)} where not exists (select 1 from repository_blobs rb join repositories r on r.id = rb.repository_id ` +
        'where r.name = $1 and rb.digest = l.d and rb.released = 0) ' +
        `union all select l.d as d from ${listTable(dialect, 3)} where not exists (select 1 from manifests m join repositories r on r.id = m.repository_id ` +
        'where r.name = $1 and m.digest = l.d)',
      [repository, [...new Set(blobs)], [...new Set(manifests)]],
    ),
  );
  return rows.map((r) => r.d);
}

/**
 * The condition of a collectable manifest `m` (created before $before): untagged, no index's
 * child, not a referrer of a subject in the repository. Shared with the candidate scan (gc/).
 */
export const COLLECTABLE_MANIFEST =
  'not exists (select 1 from tags t where t.repository_id = m.repository_id and t.digest = m.digest) ' +
  'and not exists (select 1 from manifest_references mr where mr.repository_id = m.repository_id and mr.child_digest = m.digest) ' +
  'and (m.subject is null or not exists (select 1 from manifests s where s.repository_id = m.repository_id and s.digest = m.subject))';

export async function manifestCollectable(run: QueryRunner, dialect: SqlDialect, repository: string, digest: string, before: number): Promise<boolean> {
  const rows = await run.rows(
    query(
      dialect,
      `select 1 as one from manifests m join repositories r on r.id = m.repository_id where r.name = $1 and m.digest = $2 and m.created_at < $3 and ${COLLECTABLE_MANIFEST}`,
      [repository, digest, before],
    ),
  );
  return rows.length > 0;
}

/** Which of these links are held, older than `before` and referenced by no manifest of the repository. */
export async function unreferencedLinks(run: QueryRunner, dialect: SqlDialect, repository: string, digests: readonly string[], before: number): Promise<string[]> {
  if (digests.length === 0) return [];
  const rows = await run.rows<{ digest: string }>(
    query(
      dialect,
      'select rb.digest as digest from repository_blobs rb join repositories r on r.id = rb.repository_id ' +
        `where r.name = $1 and ${inList(dialect, 'rb.digest', 2)} and rb.released = 0 and rb.created_at < $3 ` +
        'and not exists (select 1 from manifest_references mr where mr.repository_id = rb.repository_id and mr.child_digest = rb.digest)',
      [repository, [...new Set(digests)], before],
    ),
  );
  return rows.map((r) => r.digest);
}

export async function markBlobs(run: QueryRunner, dialect: SqlDialect, digests: readonly string[], runId: number): Promise<CollectedBlob[]> {
  if (digests.length === 0) return [];
  // Checked again here, in the transaction (PostgreSQL: after the digests' locks): what a push
  // linked or referenced since the candidates were read is not garbage.
  const found = await run.rows<{ digest: string; size: number }>(
    query(
      dialect,
      `select b.digest as digest, b.size as size from blobs b where ${inList(dialect, 'b.digest', 1)} ` +
        'and not exists (select 1 from repository_blobs rb where rb.digest = b.digest and rb.released = 0) ' +
        'and not exists (select 1 from manifest_references mr where mr.child_digest = b.digest)',
      [[...new Set(digests)]],
    ),
  );
  if (found.length === 0) return [];
  const marked = found.map((b) => ({ digest: b.digest, size: Number(b.size) }));
  const list = marked.map((b) => b.digest);
  const now = Date.now();
  // Released links first: they reference the blobs rows (a foreign key). They count nowhere.
  await run.change(query(dialect, `delete from repository_blobs where ${inList(dialect, 'digest', 1)}`, [list]));
  await run.change(query(dialect, `delete from blobs where ${inList(dialect, 'digest', 1)}`, [list]));
  // A `deleted` row left from an earlier deletion of the same digest starts over.
  const upsert =
    "on conflict (digest) do update set state = 'marked', size = excluded.size, seq = null, run_id = excluded.run_id, marked_at = excluded.marked_at, updated_at = excluded.updated_at " +
    "where blob_deletions.state = 'deleted'";
  if (dialect === 'postgres') {
    await run.change(
      query(
        dialect,
        `insert into blob_deletions (digest, state, size, seq, run_id, marked_at, updated_at) select d, 'marked', s, null, $3, $4, $4 from unnest($1::text[], $2::int8[]) as l(d, s) ${upsert}`,
        [list, marked.map((b) => b.size), runId, now],
      ),
    );
  } else {
    await run.change(
      query(
        dialect,
        "insert into blob_deletions (digest, state, size, seq, run_id, marked_at, updated_at) select json_extract(value, '$.digest'), 'marked', json_extract(value, '$.size'), null, $2, $3, $3 " +
          `from json_each($1) where true ${upsert}`,
        [JSON.stringify(marked), runId, now],
      ),
    );
  }
  return marked;
}

export async function markOrphans(run: QueryRunner, dialect: SqlDialect, blobs: readonly CollectedBlob[], runId: number): Promise<CollectedBlob[]> {
  if (blobs.length === 0) return [];
  // Bytes no blobs row knows (checked here, in the transaction: a commit that linked them since
  // the scrub looked wins). A journal row already there (marked or deleting) is left to its run.
  const now = Date.now();
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  const conflict =
    "on conflict (digest) do update set state = 'marked', size = excluded.size, seq = null, run_id = excluded.run_id, marked_at = excluded.marked_at, updated_at = excluded.updated_at " +
    "where blob_deletions.state = 'deleted' returning digest, size";
  const rows =
    dialect === 'postgres'
      ? await run.rows<{ digest: string; size: number }>(
          query(
            dialect,
            "insert into blob_deletions (digest, state, size, seq, run_id, marked_at, updated_at) select d, 'marked', s, null, $3, $4, $4 from unnest($1::text[], $2::int8[]) as l(d, s) " +
              `where not exists (select 1 from blobs b where b.digest = l.d) ${conflict}`,
            [unique.map((b) => b.digest), unique.map((b) => b.size), runId, now],
          ),
        )
      : await run.rows<{ digest: string; size: number }>(
          query(
            dialect,
            "insert into blob_deletions (digest, state, size, seq, run_id, marked_at, updated_at) select json_extract(value, '$.digest'), 'marked', json_extract(value, '$.size'), null, $2, $3, $3 " +
              `from json_each($1) where not exists (select 1 from blobs b where b.digest = json_extract(value, '$.digest')) ${conflict}`,
            [JSON.stringify(unique), runId, now],
          ),
        );
  return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

export async function startDeleting(run: QueryRunner, dialect: SqlDialect, digests: readonly string[], seq: number): Promise<CollectedBlob[]> {
  if (digests.length === 0) return [];
  const rows = await run.rows<{ digest: string; size: number }>(
    query(dialect, `update blob_deletions set state = 'deleting', seq = $2, updated_at = $3 where ${inList(dialect, 'digest', 1)} and state = 'marked' returning digest, size`, [
      [...new Set(digests)],
      seq,
      Date.now(),
    ]),
  );
  return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

export async function finishDeleting(run: QueryRunner, dialect: SqlDialect, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  await run.change(query(dialect, `update blob_deletions set state = 'deleted', updated_at = $2 where ${inList(dialect, 'digest', 1)} and state = 'deleting'`, [[...new Set(digests)], Date.now()]));
}

export async function pruneDeletions(run: QueryRunner, dialect: SqlDialect, before: number): Promise<number> {
  return run.change(query(dialect, "delete from blob_deletions where state = 'deleted' and updated_at < $1", [before]));
}
