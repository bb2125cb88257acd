// Users kept in the metadata database (the identity source when no htpasswd file is configured).
import { randomBytes } from 'node:crypto';
import type { Db } from '../metadata/db.js';
import type { IdentityProvider } from './identity.js';
import { hashPassword, verifyPassword } from './password-hash.js';

export class DatabaseUsers implements IdentityProvider {
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly db: Db) {}

  async verify(user: string, password: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('password_hash').where('name', '=', user).executeTakeFirst();
    return verifyPassword(password, row?.password_hash);
  }

  /** Creates or replaces a user; only the bcrypt hash is stored. */
  async setPassword(user: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    await this.db
      .insertInto('users')
      .values({ name: user, password_hash: hash, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ password_hash: hash }))
      .execute();
    for (const l of this.listeners) l();
  }

  async deleteUser(user: string): Promise<boolean> {
    const res = await this.db.deleteFrom('users').where('name', '=', user).executeTakeFirst();
    for (const l of this.listeners) l();
    return Number(res.numDeletedRows) > 0;
  }

  async listUsers(): Promise<string[]> {
    return (await this.db.selectFrom('users').select('name').orderBy('name').execute()).map((r) => r.name);
  }

  /**
   * On a registry with no users at all, creates `admin` with a random password and returns the
   * password (to be shown once); returns undefined when users already exist.
   */
  async bootstrapAdmin(): Promise<string | undefined> {
    const any = await this.db.selectFrom('users').select('name').limit(1).executeTakeFirst();
    if (any) return undefined;
    const password = randomBytes(18).toString('base64url');
    await this.setPassword('admin', password);
    return password;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): void {}
}
