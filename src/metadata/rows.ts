// Rows of the manifests and uploads tables as both stores read them, and the records they become:
// one mapping, whichever database the row came from.
import type { UploadState } from '../storage/blob-store.js';
import type { ManifestRecord, ReferrerDescriptor, UploadRecord } from './metadata-store.js';

export type ManifestRow = { digest: string; media_type: string; artifact_type: string | null; subject: string | null; annotations: string | null; size: number; content: Buffer };
export type ReferrerRow = Omit<ManifestRow, 'subject' | 'content'>;
export type UploadRow = { id: string; repository: string; created_at: number; updated_at: number; offset_bytes: number; state: string | null };

export function manifestFromRow(row: ManifestRow): ManifestRecord {
  return {
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    subject: row.subject,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    size: Number(row.size),
    content: row.content,
  };
}

/** The manifest's columns after repository_id, in the tables' order (digest ... content). */
export function manifestColumns(m: ManifestRecord): [string, string, string | null, string | null, string | null, number, Buffer] {
  return [m.digest, m.mediaType, m.artifactType, m.subject, m.annotations ? JSON.stringify(m.annotations) : null, m.size, m.content];
}

export function referrerFromRow(r: ReferrerRow): ReferrerDescriptor {
  const d: ReferrerDescriptor = { mediaType: r.media_type, digest: r.digest, size: Number(r.size) };
  if (r.artifact_type) d.artifactType = r.artifact_type;
  if (r.annotations) d.annotations = JSON.parse(r.annotations) as Record<string, string>;
  return d;
}

export function uploadFromRow(row: UploadRow): UploadRecord {
  const state = row.state ? (JSON.parse(row.state) as UploadState) : { id: row.id, offset: Number(row.offset_bytes) };
  return { id: row.id, repository: row.repository, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at), state, durable: true };
}
