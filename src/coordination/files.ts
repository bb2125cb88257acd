// A KeyValueStore of plain files under a directory, certmagic's FileStorage: the key
// "ca/ca.key" is the file <root>/ca/ca.key. The embedded mode keeps its keys and certificates
// here, in the data directory, exactly where minato kept them before coordination existed
// (<data>/ca/, <data>/certificates/<name>/, <data>/acme/, <data>/token-key.jwk), so an existing
// data directory needs no migration and operators keep reading them with openssl and backing
// them up as files.
//
// Every value is written to a temporary file (a name no key can have: it starts with a dot),
// fsynced and renamed into place, so readers see the old or the new value, never a mix; files
// are 0600 in directories of 0700.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { KeyValueStore } from './coordination.js';
import { checkKey, checkPrefix } from './keys.js';

/**
 * Concurrency: safe across processes on one filesystem (rename and link are atomic there);
 * concurrent stores of one key: the last rename wins. Cost: a few syscalls per call; `list`
 * walks the directory of the prefix's last complete segment (list("") walks the whole root:
 * do not call it on a data directory full of blobs).
 */
export class FileKeyValueStore implements KeyValueStore {
  constructor(readonly root: string) {}

  /** The file that holds a key (for messages people act on). */
  locate(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async load(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.locate(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async store(key: string, value: Buffer): Promise<void> {
    const file = this.locate(key);
    // `modified` must change with every store (pollers compare it), but file times tick in
    // jiffies: two stores within a few milliseconds would get the same one.
    const previous = await stat(file).then((s) => s.mtimeMs, () => undefined);
    const tmp = await this.writeTemp(file, value, previous);
    await rename(tmp, file).catch(async (err: unknown) => {
      await unlink(tmp).catch(() => undefined);
      throw err;
    });
  }

  async storeIfAbsent(key: string, value: Buffer): Promise<boolean> {
    const file = this.locate(key);
    const tmp = await this.writeTemp(file, value);
    try {
      // link() fails with EEXIST when the name exists: exclusive, and the value appears complete.
      await link(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.locate(key)).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    const walk = async (dir: string, keyDir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temporary files
        const key = keyDir ? `${keyDir}/${e.name}` : e.name;
        // Only descend where keys with the prefix can be.
        if (!(key.startsWith(prefix) || prefix.startsWith(`${key}/`))) continue;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(prefix)) keys.push(key);
      }
    };
    await walk(base ? path.join(this.root, ...base.split('/')) : this.root, base);
    // Byte order, as the contract says (every key character is ASCII).
    return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async modified(key: string): Promise<number | undefined> {
    try {
      const s = await stat(this.locate(key));
      return s.isFile() ? s.mtimeMs : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** A complete, synced temporary file beside `file`, modified later than `after` (ms) when given. */
  private async writeTemp(file: string, value: Buffer, after?: number): Promise<string> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(value);
      if (after !== undefined) {
        const s = await handle.stat();
        if (s.mtimeMs <= after) await handle.utimes(s.atime, (after + 1) / 1000);
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    return tmp;
  }
}

/** ENOENT, or ENOTDIR/EISDIR where a key's path runs through or ends at something else. */
function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
