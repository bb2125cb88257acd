// The SQL of the PostgreSQL metadata store, as named statements (prepared once per connection).
// Reads join `repositories` by name instead of caching name -> id in the process: with several
// replicas writing, a cache is one more thing to keep right, and the unique index on the name
// makes the join one more index probe in the same round trip.
import { statement } from './connection.js';

// Reads (autocommit, on the pool).

export const REPOSITORY_EXISTS = statement('repository_exists', 'select 1 from repositories where name = $1');
export const BLOB_SIZE = statement(
  'blob_size',
  'select b.size from repositories r join repository_blobs rb on rb.repository_id = r.id join blobs b on b.digest = rb.digest where r.name = $1 and rb.digest = $2 and rb.released = 0',
);
export const BLOB_SIZES = statement(
  'blob_sizes',
  'select rb.digest, b.size from repositories r join repository_blobs rb on rb.repository_id = r.id join blobs b on b.digest = rb.digest ' +
    'where r.name = $1 and rb.digest = any($2::text[])',
);
export const MANIFEST_SIZES = statement(
  'manifest_sizes',
  'select m.digest, m.size from repositories r join manifests m on m.repository_id = r.id where r.name = $1 and m.digest = any($2::text[])',
);
export const GET_MANIFEST = statement(
  'get_manifest',
  'select m.digest, m.media_type, m.artifact_type, m.subject, m.annotations, m.size, m.content from repositories r join manifests m on m.repository_id = r.id ' +
    'where r.name = $1 and m.digest = $2',
);
export const RESOLVE_TAG = statement('resolve_tag', 'select t.digest from repositories r join tags t on t.repository_id = r.id where r.name = $1 and t.name = $2');
// "C" collation on tags.name (migrations.ts): byte order, and a range scan of the primary key.
export const LIST_TAGS = statement(
  'list_tags',
  'select t.name from repositories r join tags t on t.repository_id = r.id where r.name = $1 and t.name > $2 order by t.name limit $3',
);
export const LIST_REFERRERS = statement(
  'list_referrers',
  'select m.digest, m.media_type, m.artifact_type, m.annotations, m.size from repositories r join manifests m on m.repository_id = r.id ' +
    'where r.name = $1 and m.subject = $2 and ($3::text is null or m.artifact_type = $3) order by m.created_at, m.digest',
);
/** Garbage collection's journal row of a blob (MetadataStore.blobDeletion). */
export const BLOB_DELETION = statement('blob_deletion', 'select state, seq from blob_deletions where digest = $1');
export const GET_UPLOAD = statement('get_upload', 'select id, repository, created_at, updated_at, offset_bytes, state from uploads where id = $1');
export const CREATE_UPLOAD = statement(
  'create_upload',
  'insert into uploads (id, repository, created_at, updated_at, offset_bytes, state) values ($1, $2, $3, $3, $4, $5)',
);
export const EVENTS_AFTER = statement('events_after', 'select id, payload from events where id > $1 order by id limit $2');
const QUOTA_COLUMNS = '(select id from projects where name = $1) as project_id, coalesce((select storage_limit from projects where name = $1), -1) as storage_limit';
export const PROJECT_QUOTA = statement('project_quota', `select coalesce((select used from project_usage where project = $1), 0) as used, ${QUOTA_COLUMNS}`);
/** Which of these blobs ($2) and whether this manifest ($3, may be null) the project ($1) holds. Also inside transactions. */
export const PROJECT_HOLDS = statement(
  'project_holds',
  'select array(select digest from project_blobs where project = $1 and digest = any($2::text[])) as blobs, ' +
    'exists (select 1 from project_manifests where project = $1 and digest = $3) as manifest',
);

// Inside transactions (postgres-tx.ts).

export const SELECT_REPOSITORY_ID = statement('tx_repository_id', 'select id from repositories where name = $1');
export const INSERT_REPOSITORY = statement('tx_insert_repository', 'insert into repositories (name, created_at) values ($1, $2) on conflict (name) do nothing returning id');
// Project usage (metadata-store.ts, "Project usage"). Every change of a project's links and
// manifests first locks its usage row (LOCK_USAGE, postgres-tx.ts), so the counted sets below are
// changed by one transaction of the project at a time and each statement's snapshot, taken after
// the lock, sees all the others' commits. Within one statement the data-modifying CTEs share one
// snapshot: a counted entry is decremented where links > 1 and deleted where links = 1 (disjoint
// rows), and what a CTE changed is read from its RETURNING only.
/** Locks the project's usage until commit (made on first use) and reads it with the limit. */
export const LOCK_USAGE = statement(
  'tx_lock_usage',
  `insert into project_usage (project, used) values ($1, 0) on conflict (project) do update set used = project_usage.used returning used, ${QUOTA_COLUMNS}`,
);
/**
 * A quota decision's read: the limit and usage, the usage locked (as LOCK_USAGE) only when the
 * project has a limit (one without needs no decision, and its pushes then lock later, for less long).
 */
export const QUOTA_CHECK = statement(
  'tx_quota_check',
  'with p as (select id, storage_limit from projects where name = $1), ' +
    'locked as (insert into project_usage (project, used) select $1::text, 0 from p where p.storage_limit >= 0 ' +
    'on conflict (project) do update set used = project_usage.used returning used) ' +
    'select (select id from p) as project_id, coalesce((select storage_limit from p), -1) as storage_limit, ' +
    'coalesce((select used from locked), (select used from project_usage where project = $1), 0) as used, exists (select 1 from locked) as locked',
);
/** $1 repository name, $2 its project: the repository's id (none when new), its project's usage locked, in one round trip. */
export const LOCK_REPOSITORY = statement(
  'tx_lock_repository',
  'with locked as (insert into project_usage (project, used) values ($2, 0) on conflict (project) do update set used = project_usage.used returning 1) ' +
    'select id from repositories where name = $1',
);
/** $1 repository id, $2 digest, $3 size, $4 now, $5 project: link (or hold a released link again), count. */
export const LINK_BLOB = statement(
  'tx_link_blob',
  'with blob as (insert into blobs (digest, size, created_at) values ($2, $3::int8, $4) on conflict (digest) do nothing), ' +
    'link as (insert into repository_blobs (repository_id, digest, created_at) values ($1, $2, $4) ' +
    'on conflict (repository_id, digest) do update set released = 0, created_at = excluded.created_at where repository_blobs.released <> 0 returning 1), ' +
    'held as (insert into project_blobs (project, digest, size, links) select $5::text, $2, $3::int8, 1 from link ' +
    'on conflict (project, digest) do update set links = project_blobs.links + 1 returning links) ' +
    'update project_usage set used = used + $3::int8 where project = $5::text and exists (select 1 from held where links = 1)',
);
/** $1 repository name, $2 digest, $3 project. */
export const UNLINK_BLOB = statement(
  'tx_unlink_blob',
  'with gone as (delete from repository_blobs where repository_id = (select id from repositories where name = $1) and digest = $2 returning released), ' +
    'counted as (select 1 from gone where released = 0), ' +
    'fewer as (update project_blobs set links = links - 1 where project = $3 and digest = $2 and links > 1 and exists (select 1 from counted)), ' +
    'freed as (delete from project_blobs where project = $3 and digest = $2 and links = 1 and exists (select 1 from counted) returning size), ' +
    'usage as (update project_usage set used = used - (select sum(size) from freed) where project = $3 and exists (select 1 from freed)) ' +
    'select exists (select 1 from gone) as unlinked',
);
// $1 repository id, $2..$8 the manifest's columns, $9 now, $10 its references, $11 project,
// $12 tag: stored and counted once per project; released blobs it references held and counted again.
const PUT_MANIFEST_PARTS =
  'with manifest as (insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) ' +
  'values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (repository_id, digest) do nothing returning size), ' +
  'held_manifest as (insert into project_manifests (project, digest, size, links) select $11::text, $2, size, 1 from manifest ' +
  'on conflict (project, digest) do update set links = project_manifests.links + 1 returning links, size), ' +
  'rehold as (update repository_blobs rb set released = 0 from blobs b ' +
  'where rb.repository_id = $1 and rb.released <> 0 and rb.digest = any($10::text[]) and b.digest = rb.digest returning rb.digest, b.size), ' +
  'held_blobs as (insert into project_blobs (project, digest, size, links) select $11::text, digest, size, 1 from rehold ' +
  'on conflict (project, digest) do update set links = project_blobs.links + 1 returning links, size), ' +
  'added as (select size from held_manifest where links = 1 union all select size from held_blobs where links = 1), ' +
  'usage as (update project_usage set used = used + (select sum(size) from added) where project = $11::text and exists (select 1 from added)), ' +
  'refs as (insert into manifest_references (repository_id, manifest_digest, child_digest) select $1, $2, unnest($10::text[]) on conflict do nothing)';
export const PUT_MANIFEST = statement('tx_put_manifest', `${PUT_MANIFEST_PARTS} select 1`);
export const PUT_MANIFEST_TAG = statement(
  'tx_put_manifest_tag',
  `${PUT_MANIFEST_PARTS} ` +
    'insert into tags (repository_id, name, digest, updated_at) values ($1, $12, $2, $9) ' +
    'on conflict (repository_id, name) do update set digest = excluded.digest, updated_at = excluded.updated_at',
);
export const LOCK_TAG = statement('tx_lock_tag', "select pg_advisory_xact_lock(1835626082, hashtext($1 || ':' || $2))");
// $1 repository name, $2 digest, $3 project: the manifest, its tags and references go; the blobs no
// other manifest of the repository references are released; the counted sets give back what
// nothing else in the project holds. (The statement still sees the references it deletes, so the
// "no other manifest" test leaves out this one's.)
export const DELETE_MANIFEST = statement(
  'tx_delete_manifest',
  'with repo as (select id from repositories where name = $1), ' +
    'gone_tags as (delete from tags where repository_id = (select id from repo) and digest = $2 returning name), ' +
    'refs as (delete from manifest_references where repository_id = (select id from repo) and manifest_digest = $2 returning child_digest), ' +
    'gone as (delete from manifests where repository_id = (select id from repo) and digest = $2 returning 1), ' +
    'released as (update repository_blobs rb set released = 1 where rb.repository_id = (select id from repo) and rb.released = 0 ' +
    'and rb.digest in (select child_digest from refs) and not exists (select 1 from manifest_references mr ' +
    'where mr.repository_id = rb.repository_id and mr.child_digest = rb.digest and mr.manifest_digest <> $2) returning rb.digest), ' +
    'manifest_fewer as (update project_manifests set links = links - 1 where project = $3 and digest = $2 and links > 1 and exists (select 1 from gone)), ' +
    'manifest_freed as (delete from project_manifests where project = $3 and digest = $2 and links = 1 and exists (select 1 from gone) returning size), ' +
    'blobs_fewer as (update project_blobs set links = links - 1 where project = $3 and links > 1 and digest in (select digest from released)), ' +
    'blobs_freed as (delete from project_blobs where project = $3 and links = 1 and digest in (select digest from released) returning size), ' +
    'freed as (select size from manifest_freed union all select size from blobs_freed), ' +
    'usage as (update project_usage set used = used - (select sum(size) from freed) where project = $3 and exists (select 1 from freed)) ' +
    'select exists (select 1 from gone) as deleted, array(select name from gone_tags order by name) as tags',
);
export const SET_STORAGE_LIMIT = statement('tx_set_storage_limit', 'update projects set storage_limit = $2, updated_at = $3 where name = $1');
export const DELETE_TAG = statement('tx_delete_tag', 'delete from tags where repository_id = (select id from repositories where name = $1) and name = $2 returning digest');
export const UPDATE_UPLOAD = statement('tx_update_upload', 'update uploads set state = $2, offset_bytes = $3, updated_at = $4 where id = $1 and offset_bytes = $5');
export const DELETE_UPLOAD = statement('tx_delete_upload', 'delete from uploads where id = $1');
// The events of a transaction under the outbox lock (postgres-tx.ts), in one round trip: the
// one-row lock subquery is joined to the rows, so it is taken before the join yields a row and
// before nextval() draws an id for it (EXPLAIN: nextval is in the nested loop's output, the lock
// its outer side).
export const INSERT_EVENTS = statement(
  'tx_insert_events',
  'insert into events (type, repository, payload, created_at) select e.type, e.repository, e.payload, e.created_at ' +
    'from (select pg_advisory_xact_lock(1835626081, 1)) as outbox_lock, ' +
    'unnest($1::text[], $2::text[], $3::text[], $4::int8[]) as e(type, repository, payload, created_at)',
);
