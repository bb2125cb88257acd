// Users kept in the metadata database (the identity source when no htpasswd file is configured).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appendToOutbox } from '../metadata/outbox.js';
import type { Db } from '../metadata/db.js';
import type { Database } from '../metadata/schema.js';
import { eventTime, SYSTEM_ACTOR } from '../events/events.js';
import type { IdentityProvider } from './identity.js';
import { hashPassword, verifyPassword } from './password-hash.js';

export class DatabaseUsers implements IdentityProvider {
  /** Called after each change; a change returns once they are done (the access snapshot has reloaded). */
  private readonly listeners: Array<() => void | Promise<void>> = [];

  /** Names this process in the user.changed events it writes, so it does not apply them twice. */
  constructor(
    private readonly db: Db,
    readonly origin: string = randomUUID(),
  ) {}

  async verify(user: string, password: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('password_hash').where('name', '=', user).executeTakeFirst();
    return verifyPassword(password, row?.password_hash);
  }

  /** Creates or replaces a user; only the bcrypt hash is stored. */
  async setPassword(user: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({ name: user, password_hash: hash, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doUpdateSet({ password_hash: hash }))
        .execute();
      // The user's stable id from its creation on (memberships and audit rows refer to it).
      await trx.insertInto('principals').values({ kind: 'user', name: user, created_at: Date.now() }).onConflict((oc) => oc.columns(['kind', 'name']).doNothing()).execute();
      await recordChange(trx, user, 'password', this.origin);
    });
    await this.changed();
  }

  async deleteUser(user: string): Promise<boolean> {
    const deleted = await this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('users').where('name', '=', user).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return false;
      // Its memberships and CLI tokens go with it (its principal id stays: audit rows keep naming it).
      for (const table of ['project_members', 'cli_tokens'] as const) {
        await trx
          .deleteFrom(table)
          .where('principal_id', 'in', (eb) => eb.selectFrom('principals').select('id').where('kind', '=', 'user').where('name', '=', user))
          .execute();
      }
      await recordChange(trx, user, 'deleted', this.origin);
      return true;
    });
    await this.changed();
    return deleted;
  }

  /**
   * `user.changed` events reached this process through the outbox: those another process wrote
   * (the CLI, another replica) make cached logins stale.
   */
  changedElsewhere(origins: readonly string[]): void {
    if (origins.some((origin) => origin !== this.origin)) void this.changed();
  }

  private async changed(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l()));
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

  onChange(listener: () => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  close(): void {}
}

/** The change goes to the outbox in the same transaction, so every process that caches logins (the server, every replica) hears of it, even when the CLI made it. */
async function recordChange(trx: Kysely<Database>, user: string, change: 'password' | 'deleted', origin: string): Promise<void> {
  await appendToOutbox(trx, [{ type: 'user.changed', at: eventTime(), actor: SYSTEM_ACTOR, user, change, origin }]);
}
