// Tokens for the CLI (`minato login`): made by a signed-in user, shown once, kept as SHA-256
// hashes (a token is 32 random bytes: no slow hash needed to resist guessing), expiring, revocable
// one by one. They are sent as the password of Basic credentials (user name + token), so every
// front end that accepts a password accepts them, and the login throttle and credential cache
// apply as to passwords. A token never grants more than its user has.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import { notFound } from '../util/domain-error.js';
import type { IdentityProvider } from './identity.js';

/** What every CLI token starts with, so a password can be told from a token without a lookup. */
export const CLI_TOKEN_PREFIX = 'mnt_';

export function isCliToken(password: string): boolean {
  return password.startsWith(CLI_TOKEN_PREFIX) && password.length > CLI_TOKEN_PREFIX.length + 20;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export interface CliTokenRecord {
  id: number;
  description: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
}

export class CliTokens implements IdentityProvider {
  private readonly listeners: Array<() => void> = [];

  /** `principalOf` gives a user name's stable id (made on first sight). */
  constructor(
    private readonly db: Db,
    private readonly principalOf: (user: string) => Promise<number>,
    private readonly writes: WriteGate = directWrites,
  ) {}

  /** A new token for `user`, valid `days`; returns it (shown once) with its record. */
  async create(user: string, description: string, days: number): Promise<{ token: string; record: CliTokenRecord }> {
    const token = CLI_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = Date.now();
    const principal = await this.principalOf(user);
    const row = await this.writes(() =>
      this.db
        .insertInto('cli_tokens')
        .values({ principal_id: principal, token_hash: digest(token), description, created_at: now, expires_at: now + days * 86_400_000 })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return { token, record: toRecord(row) };
  }

  async list(user: string): Promise<CliTokenRecord[]> {
    const rows = await this.db.selectFrom('cli_tokens').selectAll().where('principal_id', '=', await this.principalOf(user)).orderBy('id').execute();
    return rows.map(toRecord);
  }

  /** Revokes one of the user's tokens (by id), or the token itself when given. */
  async revoke(user: string, which: { id: number } | { token: string }): Promise<void> {
    let q = this.db.deleteFrom('cli_tokens').where('principal_id', '=', await this.principalOf(user));
    q = 'id' in which ? q.where('id', '=', which.id) : q.where('token_hash', '=', digest(which.token));
    const res = await this.writes(() => q.executeTakeFirst());
    if (Number(res.numDeletedRows) === 0) throw notFound('no such token');
    for (const l of this.listeners) l();
  }

  async verify(user: string, token: string): Promise<boolean> {
    if (!isCliToken(token)) return false;
    const row = await this.db
      .selectFrom('cli_tokens as t')
      .innerJoin('principals as p', 'p.id', 't.principal_id')
      .select(['t.id', 't.expires_at'])
      .where('t.token_hash', '=', digest(token))
      .where('p.kind', '=', 'user')
      .where('p.name', '=', user)
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= Date.now()) return false;
    await this.writes(() => this.db.updateTable('cli_tokens').set({ last_used_at: Date.now() }).where('id', '=', row.id).execute());
    return true;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): void {}
}

function toRecord(r: { id: number; description: string; created_at: number; expires_at: number; last_used_at: number | null }): CliTokenRecord {
  return {
    id: Number(r.id),
    description: r.description,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
