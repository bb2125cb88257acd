// Issued certificates in the asset store (coordination/open.ts assetStore: the data directory's
// files when embedded, the shared store in a fleet), three keys per certificate:
//   certificates/<id>/fullchain.pem   leaf + intermediates (what is served)
//   certificates/<id>/privkey.pem     the certificate's private key
//   certificates/<id>/meta.json       names, issuer, when obtained, by which CA
// Embedded, these are the files <data>/certificates/<id>/*, 0600, as they always were.
import type { KeyValueStore } from '../coordination/coordination.js';
import { describeKey } from '../coordination/open.js';
import { assembleCertificate, type LoadedCertificate } from './cert-files.js';

export interface StoredMeta {
  names: string[];
  directory: string;
  obtainedAt: string;
}

const FILES = ['privkey.pem', 'fullchain.pem', 'meta.json'] as const;

export class CertStore {
  constructor(private readonly kv: KeyValueStore) {}

  /** A stable directory name for a set of names: the first name, made filesystem-safe. */
  static idFor(names: string[]): string {
    return names[0]!.replace(/\*/g, '_wildcard_').replace(/[^a-zA-Z0-9._-]/g, '_');
  }

  private key(id: string, file: (typeof FILES)[number]): string {
    return `certificates/${id}/${file}`;
  }

  /** The stored certificate, undefined when there is none; throws when it is unreadable or its parts do not match. */
  async load(id: string): Promise<{ cert: LoadedCertificate; meta: StoredMeta } | undefined> {
    const [key, chain, meta] = await Promise.all(FILES.map((f) => this.kv.load(this.key(id, f))));
    if (!key || !chain || !meta) return undefined;
    const cert = assembleCertificate(chain.toString('utf8'), key.toString('utf8'), describeKey(this.kv, this.key(id, 'fullchain.pem')), describeKey(this.kv, this.key(id, 'privkey.pem')));
    return { cert, meta: JSON.parse(meta.toString('utf8')) as StoredMeta };
  }

  async save(id: string, certPem: string, keyPem: string, meta: StoredMeta): Promise<void> {
    // Key first, then chain, then meta: each is complete on its own; load() checks they match,
    // and meta.json, written last, is what modified() watches.
    const content = { 'privkey.pem': keyPem, 'fullchain.pem': certPem, 'meta.json': JSON.stringify(meta, null, 2) };
    for (const f of FILES) await this.kv.store(this.key(id, f), Buffer.from(content[f]));
  }

  /** When the certificate was last saved (by any replica), or undefined. One cheap lookup: polled. */
  modified(id: string): Promise<number | undefined> {
    return this.kv.modified(this.key(id, 'meta.json'));
  }
}
