// Copies one registry into another through the contracts: every blob streamed from the source
// BlobStore into the target's (the target re-hashes it: a blob whose bytes no longer match its
// digest is refused, not copied), then repositories, blob links, manifests with their references
// and tags, users and principals (with their ids) through the target MetadataStore and its Kysely,
// and the keys and certificates (the private CA, so clients keep trusting the registry).
// `minato migrate` uses it to move an embedded registry (SQLite + filesystem) onto PostgreSQL + S3.
//
// Resumable: a blob already in the target is skipped (stat), and every metadata write is
// idempotent, so an interrupted run is simply run again. Run it while the target serves no
// clients, or while the source is read-only: what the source receives during the copy may be missed.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { isDigest, type Digest } from '../oci/names.js';
import { BlobNotFoundError, DigestMismatchError, type BlobStore } from '../storage/blob-store.js';
import type { KeyValueStore } from '../coordination/coordination.js';

export interface RegistryEnds {
  blobs: BlobStore;
  meta: MetadataStore;
  /** Kysely on the same database as `meta` (users and principals are copied with it). */
  db: Db;
  /** Keys and certificates (private CA, TLS certificates, ACME account, token-signing key). */
  assets: KeyValueStore;
}

/** What of the asset store moves with a registry (coordination's locks and challenge tokens do not). */
const ASSET_PREFIXES = ['ca/', 'certificates/', 'acme/'];
const ASSET_KEYS = ['token-key.jwk'];

export interface MigrationReport {
  blobs: { copied: number; alreadyThere: number; refused: Array<{ digest: string; reason: string }>; bytesCopied: number };
  repositories: number;
  blobLinks: number;
  manifests: number;
  tags: number;
  users: number;
  principals: number;
  /** Keys and certificates copied; ones the target already had are kept (never overwritten). */
  assets: { copied: number; kept: number };
}

export type MigrationProgress =
  | { phase: 'blobs'; total: number; totalBytes: number }
  | { phase: 'blob'; digest: string; bytes: number; copied: boolean }
  | { phase: 'metadata'; total: number }
  | { phase: 'item' };

export async function migrateRegistry(source: RegistryEnds, target: RegistryEnds, onProgress: (p: MigrationProgress) => void = () => undefined, signal?: AbortSignal): Promise<MigrationReport> {
  const report: MigrationReport = {
    blobs: { copied: 0, alreadyThere: 0, refused: [], bytesCopied: 0 },
    repositories: 0,
    blobLinks: 0,
    manifests: 0,
    tags: 0,
    users: 0,
    principals: 0,
    assets: { copied: 0, kept: 0 },
  };

  // The blobs the source's metadata knows (its links), with the sizes it recorded.
  const known = await source.db.selectFrom('blobs').select(['digest', 'size']).orderBy('digest').execute();
  onProgress({ phase: 'blobs', total: known.length, totalBytes: known.reduce((n, b) => n + Number(b.size), 0) });
  const refused = new Set<string>();
  for (const { digest, size } of known) {
    signal?.throwIfAborted();
    if (!isDigest(digest)) {
      refused.add(digest);
      report.blobs.refused.push({ digest, reason: 'not a valid digest' });
      continue;
    }
    const there = await target.blobs.stat(digest);
    if (there && there.size === Number(size)) {
      report.blobs.alreadyThere++;
      onProgress({ phase: 'blob', digest, bytes: Number(size), copied: false });
      continue;
    }
    const reason = await copyBlob(source.blobs, target.blobs, digest);
    if (reason) {
      refused.add(digest);
      report.blobs.refused.push({ digest, reason });
    } else {
      report.blobs.copied++;
      report.blobs.bytesCopied += Number(size);
    }
    onProgress({ phase: 'blob', digest, bytes: Number(size), copied: reason === undefined });
  }

  const repositories = await source.db.selectFrom('repositories').select(['id', 'name']).orderBy('name').execute();
  // Released links (blobs of deleted manifests, no longer served) are not carried over.
  const links = await source.db.selectFrom('repository_blobs').select(['repository_id', 'digest']).where('released', '=', 0).execute();
  const manifests = await source.db.selectFrom('manifests').selectAll().execute();
  const references = await source.db.selectFrom('manifest_references').selectAll().execute();
  const tags = await source.db.selectFrom('tags').selectAll().execute();
  const users = await source.db.selectFrom('users').selectAll().execute();
  const principals = await source.db.selectFrom('principals').selectAll().execute();
  onProgress({ phase: 'metadata', total: links.length + manifests.length + tags.length + users.length + principals.length });

  const names = new Map(repositories.map((r) => [Number(r.id), r.name]));
  report.repositories = repositories.length;
  const sizes = new Map(known.map((b) => [b.digest, Number(b.size)]));
  const refsOf = groupBy(references, (r) => `${r.repository_id} ${r.manifest_digest}`, (r) => r.child_digest);
  const tagsOf = groupBy(tags, (t) => `${t.repository_id} ${t.digest}`, (t) => t.name);

  // Blob links first (a manifest's references are then in place), in batches of one transaction.
  for (const batch of chunks(links, 500)) {
    signal?.throwIfAborted();
    await target.meta.transaction(async (tx) => {
      for (const link of batch) {
        const repository = names.get(Number(link.repository_id));
        const size = sizes.get(link.digest);
        if (repository === undefined || size === undefined || refused.has(link.digest)) continue;
        await tx.linkBlob(repository, link.digest, size);
        report.blobLinks++;
      }
    });
    for (let i = 0; i < batch.length; i++) onProgress({ phase: 'item' });
  }
  for (const batch of chunks(manifests, 200)) {
    signal?.throwIfAborted();
    await target.meta.transaction(async (tx) => {
      for (const m of batch) {
        const repository = names.get(Number(m.repository_id));
        if (repository === undefined) continue;
        const key = `${m.repository_id} ${m.digest}`;
        const record = {
          digest: m.digest,
          mediaType: m.media_type,
          artifactType: m.artifact_type,
          subject: m.subject,
          annotations: m.annotations ? (JSON.parse(m.annotations) as Record<string, string>) : null,
          size: Number(m.size),
          content: Buffer.from(m.content),
        };
        const manifestTags = tagsOf.get(key) ?? [];
        await tx.putManifest(repository, record, refsOf.get(key) ?? [], manifestTags[0]);
        for (const tag of manifestTags.slice(1)) await tx.putManifest(repository, record, [], tag);
        report.manifests++;
        report.tags += manifestTags.length;
      }
    });
    for (const m of batch) {
      onProgress({ phase: 'item' });
      for (let i = 0; i < (tagsOf.get(`${m.repository_id} ${m.digest}`)?.length ?? 0); i++) onProgress({ phase: 'item' });
    }
  }

  // Users (password hashes as they are) and principals with their ids, so that events and later
  // memberships keep pointing at the same people.
  for (const u of users) {
    await target.db
      .insertInto('users')
      .values({ name: u.name, password_hash: u.password_hash, created_at: Number(u.created_at) })
      .onConflict((oc) => oc.column('name').doUpdateSet({ password_hash: u.password_hash }))
      .execute();
    report.users++;
    onProgress({ phase: 'item' });
  }
  for (const p of principals) {
    await target.db
      .insertInto('principals')
      .values({ id: Number(p.id), kind: p.kind, name: p.name, created_at: Number(p.created_at) } as never)
      .onConflict((oc) => oc.doNothing())
      .execute();
    report.principals++;
    onProgress({ phase: 'item' });
  }
  if (principals.length > 0) await bumpPrincipalSequence(target.db);

  // The private CA above all: clients trust it, so the fleet must sign with the same one.
  const keys = [...ASSET_KEYS];
  for (const prefix of ASSET_PREFIXES) keys.push(...(await source.assets.list(prefix)));
  for (const key of keys) {
    const value = await source.assets.load(key);
    if (value === undefined) continue;
    if (await target.assets.storeIfAbsent(key, value)) report.assets.copied++;
    else report.assets.kept++;
  }
  return report;
}

/** Streams one blob across and commits it under its digest; the reason it was refused, if it was. */
async function copyBlob(from: BlobStore, to: BlobStore, digest: Digest): Promise<string | undefined> {
  let body: Readable;
  try {
    body = await from.open(digest);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return 'missing from the source storage';
    throw err;
  }
  const state = await to.begin(randomUUID());
  try {
    const written = await to.append(state, body);
    await to.commit(written, digest);
    return undefined;
  } catch (err) {
    await to.cancel(state).catch(() => undefined);
    if (err instanceof DigestMismatchError) return `its bytes hash to ${err.actual}: the source copy is damaged`;
    throw err;
  }
}

/** After explicit ids were inserted, PostgreSQL's sequence must move past them (SQLite needs nothing). */
async function bumpPrincipalSequence(db: Db): Promise<void> {
  const adapter = db.getExecutor().adapter.constructor.name;
  if (!/postgres/i.test(adapter)) return;
  await sql`select setval(pg_get_serial_sequence('principals', 'id'), (select max(id) from principals))`.execute(db);
}

function groupBy<T>(rows: T[], key: (row: T) => string, value: (row: T) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(value(row));
    else groups.set(k, [value(row)]);
  }
  return groups;
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
