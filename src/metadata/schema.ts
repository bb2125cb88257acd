// Row types of the metadata database (Kysely's view of the tables made in migrations.ts).
// Times are milliseconds since the epoch; digests are "algorithm:hex" strings.
import type { Generated } from 'kysely';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: number;
}

/** Which repositories may serve a blob: a blob is stored once, linked to many repositories. */
export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: number;
}

export interface ManifestsTable {
  repository_id: number;
  digest: string;
  media_type: string;
  /** artifactType, or the config media type of an image manifest (what referrers report). */
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  size: number;
  content: Buffer;
  created_at: number;
}

/** Blobs and child manifests a manifest references (for garbage collection and delete checks). */
export interface ManifestReferencesTable {
  repository_id: number;
  manifest_digest: string;
  child_digest: string;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  digest: string;
  updated_at: number;
}

export interface UploadsTable {
  id: string;
  repository: string;
  created_at: number;
  /** Bytes stored so far (the compare-and-set key of an append). */
  offset_bytes: Generated<number>;
  /** The storage driver's UploadState as JSON (null until the first bytes). */
  state: string | null;
  updated_at: Generated<number>;
}

/** Users and robots by stable id; `name` is unique per kind. */
export interface PrincipalsTable {
  id: Generated<number>;
  kind: string;
  name: string;
  created_at: number;
}

/** The outbox: one row per RegistryEvent, in commit order. */
export interface EventsTable {
  id: Generated<number>;
  type: string;
  repository: string | null;
  /** The whole event as JSON. */
  payload: string;
  created_at: number;
}

/** How far each fleet-wide sink has delivered. */
export interface EventCursorsTable {
  sink: string;
  last_id: number;
}

export interface UsersTable {
  name: string;
  password_hash: string;
  created_at: number;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  users: UsersTable;
  principals: PrincipalsTable;
  events: EventsTable;
  event_cursors: EventCursorsTable;
}
