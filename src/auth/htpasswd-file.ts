// Users from an Apache htpasswd file, re-read when the file changes on disk (polled, so
// replacing the file by rename, as `htpasswd` and config managers do, is seen too).
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import type { IdentityProvider } from './identity.js';
import { hashKind, verifyPassword } from './password-hash.js';

export function parseHtpasswd(text: string): { users: Map<string, string>; problems: string[] } {
  const users = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`line ${i + 1}: expected "user:hash"`);
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (hashKind(hash) === 'unsupported') {
      problems.push(`line ${i + 1}: user "${user}" has an unsupported hash (use bcrypt: htpasswd -B)`);
      return;
    }
    users.set(user, hash);
  });
  return { users, problems };
}

export class HtpasswdFile implements IdentityProvider {
  private users = new Map<string, string>();
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    pollMs = 2000,
  ) {
    this.load(true);
    watchFile(file, { interval: pollMs, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
      this.load(false);
      for (const l of this.listeners) l();
    });
  }

  private load(initial: boolean): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      const msg = `cannot read htpasswd file ${this.file}: ${(err as Error).message}`;
      if (initial) throw new Error(msg);
      this.log.error({ file: this.file }, `${msg}; keeping the users loaded before`);
      return;
    }
    const { users, problems } = parseHtpasswd(text);
    for (const p of problems) this.log.warn({ file: this.file }, `htpasswd ${p}`);
    this.users = users;
    this.log.info({ file: this.file, users: users.size }, initial ? 'htpasswd loaded' : 'htpasswd reloaded');
  }

  /** Whether the file names the user now (no I/O). */
  has(user: string): boolean {
    return this.users.has(user);
  }

  async verify(user: string, password: string): Promise<boolean> {
    return verifyPassword(password, this.users.get(user));
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    unwatchFile(this.file);
  }
}
