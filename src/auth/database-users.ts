// Users kept in the metadata database (the identity source when no htpasswd file is configured).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { alreadyExists, notFound } from '../util/domain-error.js';
import { appendToOutbox } from '../metadata/outbox.js';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import type { Database } from '../metadata/schema.js';
import { eventTime, SYSTEM_ACTOR, type Actor } from '../events/events.js';
import type { IdentityProvider } from './identity.js';
import { hashPassword, verifyPassword } from './password-hash.js';

/** The profile columns of a database user (Harbor's email, realname, comment). */
export interface UserProfileFields {
  email?: string;
  realname?: string;
  comment?: string;
}

export class DatabaseUsers implements IdentityProvider {
  /** Called after each change; a change returns once they are done (the access snapshot has reloaded). */
  private readonly listeners: Array<() => void | Promise<void>> = [];

  /** Names this process in the user.changed events it writes, so it does not apply them twice. */
  constructor(
    private readonly db: Db,
    readonly origin: string = randomUUID(),
    private readonly writes: WriteGate = directWrites,
  ) {}

  private tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.writes(() => this.db.transaction().execute(fn));
  }

  async verify(user: string, password: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('password_hash').where('name', '=', user).executeTakeFirst();
    return verifyPassword(password, row?.password_hash);
  }

  /**
   * Creates or replaces a user; only the bcrypt hash is stored. A new password ends the user's UI
   * sessions, in the same transaction (every replica reads them from this table): whoever knew the
   * old one and signed in with it is out. Its CLI tokens stay, as Harbor's CLI secret outlives a
   * password change: each is revoked on its own (DELETE /users/current/cli-tokens/{id}).
   */
  async setPassword(user: string, password: string, actor: Actor = SYSTEM_ACTOR): Promise<void> {
    const hash = await hashPassword(password);
    await this.tx(async (trx) => {
      const now = Date.now();
      await trx
        .insertInto('users')
        .values({ name: user, password_hash: hash, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ password_hash: hash, updated_at: now }))
        .execute();
      const userId = await ensurePrincipal(trx, user);
      await trx.deleteFrom('sessions').where('principal_id', '=', userId).execute();
      await recordChange(trx, user, 'password', this.origin, actor, userId);
    });
    await this.changed();
  }

  /** Creates a user with its profile; ALREADY_EXISTS when the name is taken. Returns its principal id. */
  async createUser(user: string, password: string, profile: UserProfileFields, actor: Actor): Promise<number> {
    const hash = await hashPassword(password);
    const id = await this.tx(async (trx) => {
      const taken = await trx.selectFrom('users').select('name').where('name', '=', user).executeTakeFirst();
      if (taken) throw alreadyExists(`a user named ${user} already exists`);
      const now = Date.now();
      await trx
        .insertInto('users')
        .values({ name: user, password_hash: hash, created_at: now, updated_at: now, email: profile.email ?? null, realname: profile.realname ?? null, comment: profile.comment ?? null })
        .execute();
      const userId = await ensurePrincipal(trx, user);
      await recordChange(trx, user, 'created', this.origin, actor, userId);
      return userId;
    });
    await this.changed();
    return id;
  }

  /** Changes the profile fields given (undefined: kept). */
  async updateProfile(user: string, profile: UserProfileFields, actor: Actor): Promise<void> {
    await this.tx(async (trx) => {
      const res = await trx
        .updateTable('users')
        .set({
          ...(profile.email !== undefined ? { email: profile.email } : {}),
          ...(profile.realname !== undefined ? { realname: profile.realname } : {}),
          ...(profile.comment !== undefined ? { comment: profile.comment } : {}),
          updated_at: Date.now(),
        })
        .where('name', '=', user)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw notFound(`no user named ${user}`);
      await recordChange(trx, user, 'updated', this.origin, actor, await ensurePrincipal(trx, user));
    });
    await this.changed();
  }

  async deleteUser(user: string, actor: Actor = SYSTEM_ACTOR): Promise<boolean> {
    const deleted = await this.tx(async (trx) => {
      const res = await trx.deleteFrom('users').where('name', '=', user).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return false;
      // Its memberships, CLI tokens and UI sessions go with it (its principal id stays: audit rows keep naming it).
      const userId = await ensurePrincipal(trx, user);
      await trx.deleteFrom('project_members').where('principal_id', '=', userId).execute();
      await trx.deleteFrom('cli_tokens').where('principal_id', '=', userId).execute();
      await trx.deleteFrom('sessions').where('principal_id', '=', userId).execute();
      await recordChange(trx, user, 'deleted', this.origin, actor, userId);
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

/** The user's stable id, made at its creation (memberships, sessions and audit rows refer to it). */
async function ensurePrincipal(trx: Kysely<Database>, user: string): Promise<number> {
  await trx.insertInto('principals').values({ kind: 'user', name: user, created_at: Date.now() }).onConflict((oc) => oc.columns(['kind', 'name']).doNothing()).execute();
  return Number((await trx.selectFrom('principals').select('id').where('kind', '=', 'user').where('name', '=', user).executeTakeFirstOrThrow()).id);
}

/** The change goes to the outbox in the same transaction, so every process that caches logins (the server, every replica) hears of it, even when the CLI made it. */
async function recordChange(trx: Kysely<Database>, user: string, change: 'created' | 'password' | 'updated' | 'deleted', origin: string, actor: Actor, userId: number): Promise<void> {
  await appendToOutbox(trx, [{ type: 'user.changed', at: eventTime(), actor, user, userId, change, origin }]);
}
