// Row types of the metadata database (Kysely's view of the tables made in migrations.ts).
// Times are milliseconds since the epoch; digests are "algorithm:hex" strings.
import type { Generated } from 'kysely';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

/** Harbor's repository description, set through the management API (migration 0005). */
export interface RepositoryDescriptionsTable {
  repository_id: number;
  description: string;
}

/** Pulls of an artifact, folded from artifact.pulled events (migration 0005). */
export interface ArtifactPullsTable {
  repository_id: number;
  digest: string;
  pull_count: number;
  /** ms since the epoch of the last pull. */
  pull_time: number;
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
  /** 1 once a manifest delete released it (the blob was only that manifest's): not served, not counted. */
  released: Generated<number>;
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
  /** 1 for a system administrator. */
  sysadmin: Generated<number>;
  email: string | null;
  realname: string | null;
  comment: string | null;
  updated_at: Generated<number>;
}

/** A project: the first path component of its repositories' names. */
export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  owner_id: number | null;
  public: Generated<number>;
  /** Harbor's string-valued metadata as a JSON object. */
  metadata: Generated<string>;
  /** Bytes; -1 unlimited. */
  storage_limit: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface ProjectMembersTable {
  project_id: number;
  principal_id: number;
  /** 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest (Harbor's ids). */
  role_id: number;
  created_at: number;
  updated_at: number;
}

export interface RobotsTable {
  /** The robot's principal id. */
  id: number;
  /** "<project>+<name>" or "<name>"; logins add the "robot$" prefix. */
  name: string;
  /** 0 for a system robot. */
  project_id: Generated<number>;
  description: Generated<string>;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_until: number | null;
  /** JSON: [{kind, namespace, access: [{resource, action}]}]. */
  permissions: string;
  /** Days; -1 never. */
  duration: number;
  /** ms since the epoch; -1 never. */
  expires_at: number;
  disabled: Generated<number>;
  creator_id: number | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  last_used_from: string | null;
}

export interface AuditLogsTable {
  id: Generated<number>;
  op_time: number;
  project_id: number | null;
  operation: string;
  resource_type: string;
  resource: string;
  principal_id: number | null;
  username: string;
  address: string | null;
  success: Generated<number>;
  description: Generated<string>;
  event_id: number | null;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the cookie value. */
  id: string;
  principal_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** Revocable tokens `minato login` keeps instead of a password. */
export interface CliTokensTable {
  id: Generated<number>;
  principal_id: number;
  /** SHA-256 (hex) of the token. */
  token_hash: string;
  description: Generated<string>;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
}

/** A project's counted set (blobs or manifests): each distinct digest once, with the links holding it. */
export interface ProjectContentTable {
  project: string;
  digest: string;
  size: number;
  links: number;
}

/** Bytes a project holds (the sum of its counted sets); the row a quota check locks. */
export interface ProjectUsageTable {
  project: string;
  used: Generated<number>;
}

/** The journal of garbage collection's blob deletions (migration 0007; gc/garbage-collector.ts). */
export interface BlobDeletionsTable {
  digest: string;
  state: BlobDeletionState;
  /** The blob's size, for what a run reclaimed (its blobs row is gone once marked). */
  size: number;
  /** Names one deletion (set when it starts deleting); null while marked. */
  seq: number | null;
  /** The run that marked it. */
  run_id: number;
  marked_at: number;
  updated_at: number;
}

export type BlobDeletionState = 'marked' | 'deleting' | 'deleted';

/** An immutability rule of a project: Harbor's ImmutableRule as JSON (migration 0008). */
export interface ImmutableRulesTable {
  id: Generated<number>;
  project_id: number;
  rule: string;
  created_at: number;
  updated_at: number;
}

/** A project's retention policy: Harbor's RetentionPolicy as JSON (migration 0008). */
export interface RetentionPoliciesTable {
  id: Generated<number>;
  project_id: number;
  policy: string;
  created_at: number;
  updated_at: number;
}

/** One repository's part of a retention run (Harbor's task), with its log as JSON. */
export interface RetentionTasksTable {
  id: Generated<number>;
  policy_id: number;
  execution_id: number;
  repository: string;
  status: string;
  start_time: number;
  end_time: number | null;
  total: Generated<number>;
  retained: Generated<number>;
  log: Generated<string>;
}

/** A simple signature (containers-signature(5)) stored through the signatures extension; goes with its manifest. */
export interface SimpleSignaturesTable {
  id: Generated<number>;
  repository_id: number;
  manifest_digest: string;
  /** The client's name for it: `<manifest digest>@<32 hex>`. */
  name: string;
  content: Buffer;
  /** `sha256:` of `content`: identical signatures are stored once per manifest. */
  content_digest: string;
  created_at: number;
}

/** A project's trust policy (migration 0009): enforcement level and trust material as JSON (trust/trust-policy-store.ts). */
export interface TrustPoliciesTable {
  project_id: number;
  level: string;
  material: string;
  version: number;
  updated_at: number;
}

/** A CVE allowlist: the system's (project_id 0) or a project's (migration 0013). */
export interface CveAllowlistsTable {
  id: Generated<number>;
  project_id: number;
  /** Unix milliseconds; null: never expires. */
  expires_at: number | null;
  /** JSON array of CVE ids. */
  items: string;
  created_at: number;
  updated_at: number;
}

/** A scanner adapter registration (migration 0013): Harbor's ScannerRegistration as JSON beside its keys. */
export interface ScannerRegistrationsTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  registration: string;
  is_default: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface ProjectScannersTable {
  project_id: number;
  scanner_uuid: string;
}

export interface Database {
  blob_deletions: BlobDeletionsTable;
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
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  robots: RobotsTable;
  audit_logs: AuditLogsTable;
  sessions: SessionsTable;
  cli_tokens: CliTokensTable;
  project_blobs: ProjectContentTable;
  project_manifests: ProjectContentTable;
  project_usage: ProjectUsageTable;
  artifact_pulls: ArtifactPullsTable;
  repository_descriptions: RepositoryDescriptionsTable;
  immutable_rules: ImmutableRulesTable;
  retention_policies: RetentionPoliciesTable;
  retention_tasks: RetentionTasksTable;
  simple_signatures: SimpleSignaturesTable;
  trust_policies: TrustPoliciesTable;
  cve_allowlists: CveAllowlistsTable;
  scanner_registrations: ScannerRegistrationsTable;
  project_scanners: ProjectScannersTable;
}
