// The SQL of the PostgreSQL metadata store, as named statements (prepared once per connection).
// Reads join `repositories` by name instead of caching name -> id in the process: with several
// replicas writing, a cache is one more thing to keep right, and the unique index on the name
// makes the join one more index probe in the same round trip.
import { statement } from './connection.js';

// Reads (autocommit, on the pool).

export const REPOSITORY_EXISTS = statement('repository_exists', 'select 1 from repositories where name = $1');
export const BLOB_SIZE = statement(
  'blob_size',
  'select b.size from repositories r join repository_blobs rb on rb.repository_id = r.id join blobs b on b.digest = rb.digest where r.name = $1 and rb.digest = $2',
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
export const GET_UPLOAD = statement('get_upload', 'select id, repository, created_at, updated_at, offset_bytes, state from uploads where id = $1');
export const CREATE_UPLOAD = statement(
  'create_upload',
  'insert into uploads (id, repository, created_at, updated_at, offset_bytes, state) values ($1, $2, $3, $3, $4, $5)',
);
export const EVENTS_AFTER = statement('events_after', 'select id, payload from events where id > $1 order by id limit $2');

// Inside transactions (postgres-tx.ts).

export const SELECT_REPOSITORY_ID = statement('tx_repository_id', 'select id from repositories where name = $1');
export const INSERT_REPOSITORY = statement('tx_insert_repository', 'insert into repositories (name, created_at) values ($1, $2) on conflict (name) do nothing returning id');
export const LINK_BLOB = statement(
  'tx_link_blob',
  'with blob as (insert into blobs (digest, size, created_at) values ($2, $3, $4) on conflict (digest) do nothing) ' +
    'insert into repository_blobs (repository_id, digest, created_at) values ($1, $2, $4) on conflict (repository_id, digest) do nothing',
);
export const UNLINK_BLOB = statement('tx_unlink_blob', 'delete from repository_blobs where repository_id = (select id from repositories where name = $1) and digest = $2');
const PUT_MANIFEST_PARTS =
  'with manifest as (insert into manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at) ' +
  'values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (repository_id, digest) do nothing)';
const PUT_REFERENCES = 'insert into manifest_references (repository_id, manifest_digest, child_digest) select $1, $2, unnest($10::text[]) on conflict do nothing';
export const PUT_MANIFEST = statement('tx_put_manifest', `${PUT_MANIFEST_PARTS} ${PUT_REFERENCES}`);
export const PUT_MANIFEST_TAG = statement(
  'tx_put_manifest_tag',
  `${PUT_MANIFEST_PARTS}, refs as (${PUT_REFERENCES}) ` +
    'insert into tags (repository_id, name, digest, updated_at) values ($1, $11, $2, $9) ' +
    'on conflict (repository_id, name) do update set digest = excluded.digest, updated_at = excluded.updated_at',
);
export const LOCK_TAG = statement('tx_lock_tag', "select pg_advisory_xact_lock(1835626082, hashtext($1 || ':' || $2))");
export const DELETE_MANIFEST = statement(
  'tx_delete_manifest',
  'with repo as (select id from repositories where name = $1), ' +
    'gone_tags as (delete from tags where repository_id = (select id from repo) and digest = $2 returning name), ' +
    'refs as (delete from manifest_references where repository_id = (select id from repo) and manifest_digest = $2), ' +
    'gone as (delete from manifests where repository_id = (select id from repo) and digest = $2 returning 1) ' +
    'select exists (select 1 from gone) as deleted, array(select name from gone_tags order by name) as tags',
);
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
