// Issued certificates on disk, one directory per certificate:
//   <dir>/<id>/fullchain.pem   leaf + intermediates (what is served)      0600
//   <dir>/<id>/privkey.pem     the certificate's private key               0600
//   <dir>/<id>/meta.json       names, issuer, when obtained, by which CA
// Written to temp files and renamed, so a crash never leaves a half-written pair visible.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assembleCertificate, type LoadedCertificate } from './cert-files.js';

export interface StoredMeta {
  names: string[];
  directory: string;
  obtainedAt: string;
}

export class CertStore {
  constructor(private readonly dir: string) {}

  /** A stable directory name for a set of names: the first name, made filesystem-safe. */
  static idFor(names: string[]): string {
    return names[0]!.replace(/\*/g, '_wildcard_').replace(/[^a-zA-Z0-9._-]/g, '_');
  }

  async load(id: string): Promise<{ cert: LoadedCertificate; meta: StoredMeta } | undefined> {
    const d = path.join(this.dir, id);
    try {
      const [chain, key, meta] = await Promise.all([
        readFile(path.join(d, 'fullchain.pem'), 'utf8'),
        readFile(path.join(d, 'privkey.pem'), 'utf8'),
        readFile(path.join(d, 'meta.json'), 'utf8'),
      ]);
      return { cert: assembleCertificate(chain, key, `${d}/fullchain.pem`, `${d}/privkey.pem`), meta: JSON.parse(meta) as StoredMeta };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async save(id: string, certPem: string, keyPem: string, meta: StoredMeta): Promise<void> {
    const d = path.join(this.dir, id);
    await mkdir(d, { recursive: true, mode: 0o700 });
    // Key first, then chain, then meta: each is complete on its own; load() checks they match.
    for (const [name, content] of [
      ['privkey.pem', keyPem],
      ['fullchain.pem', certPem],
      ['meta.json', JSON.stringify(meta, null, 2)],
    ] as const) {
      const tmp = path.join(d, `.${name}.${randomUUID()}`);
      await writeFile(tmp, content, { mode: 0o600 });
      await rename(tmp, path.join(d, name));
    }
  }
}
