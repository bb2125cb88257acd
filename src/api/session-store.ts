// UI sessions, kept in the metadata database (the `sessions` table of migration 0003), so any
// replica accepts a session another one started. The cookie's value is a random token shown to
// the browser only; the table holds its SHA-256, so a copy of the database opens no session.
// A session ends after `idle` without a request, after `maxAge` whatever happens, at logout, or
// when its user is deleted or its password changes (database users). Kysely only: the same code
// runs on SQLite and PostgreSQL (test/conformance/session-store.ts runs on both).
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';

export interface Session {
  principalId: number;
  kind: string;
  /** The principal's login name. */
  name: string;
  /** The token a state-changing request made with this session must send (X-Harbor-Csrf-Token). */
  csrfToken: string;
  /** ms since the epoch. */
  createdAt: number;
  expiresAt: number;
}

export interface NewSession {
  /** The cookie's value (shown once: only its hash is stored). */
  token: string;
  csrfToken: string;
  expiresAt: number;
}

/**
 * Concurrency: safe from any number of requests and replicas (each call is one statement, or a
 * read and a conditional write that may race harmlessly: both move the expiry forward). Errors:
 * MetadataUnavailableError when the database is down. Cost: `find` runs on every request that
 * carries a session cookie: one indexed read, and a write at most once per `touchInterval`.
 */
export interface SessionStore {
  /** Starts a session for an existing principal. */
  create(principalId: number): Promise<NewSession>;
  /** The live session of a cookie value (its idle expiry moved forward); undefined when unknown, malformed or expired. */
  find(token: string): Promise<Session | undefined>;
  /** Ends a session; true when its row existed. Idempotent. */
  delete(token: string): Promise<boolean>;
  /** Ends every session of a principal. */
  deleteFor(principalId: number): Promise<number>;
  /** Deletes the rows of expired sessions; returns how many. */
  purgeExpired(): Promise<number>;
}

export interface SessionOptions {
  /** A session unused this long ends (api.sessionTimeoutMinutes). */
  idleMs: number;
  /** A session ends this long after its login, used or not (api.sessionMaxHours). */
  maxAgeMs: number;
  /** A session's expiry is written again only once this much of its idle time has passed (default: a minute, or idle/4 if shorter). */
  touchIntervalMs?: number;
  /** Users live in the `users` table: a session ends with its user's row. False for htpasswd users (they have no row). */
  usersInDatabase: boolean;
  /** htpasswd users: whether the file still names the user (a user removed from it loses their sessions at once). */
  userExists?: (name: string) => boolean;
  /** The clock (tests move it). */
  now?: () => number;
  /** How writes run: through the metadata store's writer in the server (MetadataStore.outsideTransactions), directly elsewhere. */
  writes?: WriteGate;
}

/** 32 random bytes, base64url: what `create` hands out; anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class DbSessionStore implements SessionStore {
  private readonly now: () => number;
  private readonly touchMs: number;
  private readonly writes: WriteGate;

  constructor(
    private readonly db: Db,
    private readonly opts: SessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.touchMs = opts.touchIntervalMs ?? Math.min(60_000, opts.idleMs / 4);
    this.writes = opts.writes ?? directWrites;
  }

  private expiry(createdAt: number, now: number): number {
    return Math.min(now + this.opts.idleMs, createdAt + this.opts.maxAgeMs);
  }

  async create(principalId: number): Promise<NewSession> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = this.expiry(now, now);
    await this.writes(() => this.db.insertInto('sessions').values({ id: hashOf(token), principal_id: principalId, csrf_token: csrfToken, created_at: now, expires_at: expiresAt }).execute());
    return { token, csrfToken, expiresAt };
  }

  async find(token: string): Promise<Session | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const id = hashOf(token);
    const now = this.now();
    let query = this.db
      .selectFrom('sessions as s')
      .innerJoin('principals as p', 'p.id', 's.principal_id')
      .select(['s.principal_id', 's.csrf_token', 's.created_at', 's.expires_at', 'p.kind', 'p.name'])
      .where('s.id', '=', id)
      .where('s.expires_at', '>', now);
    if (this.opts.usersInDatabase) query = query.where((eb) => eb.exists(eb.selectFrom('users as u').select('u.name').whereRef('u.name', '=', 'p.name')));
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    if (row.kind === 'user' && this.opts.userExists && !this.opts.userExists(row.name)) return undefined;
    let expiresAt = Number(row.expires_at);
    const createdAt = Number(row.created_at);
    // The idle expiry moves with use, but written at most once per touch interval: a UI polling
    // every second costs one write a minute, not one a second.
    const next = this.expiry(createdAt, now);
    if (next - expiresAt >= this.touchMs) {
      await this.writes(() => this.db.updateTable('sessions').set({ expires_at: next }).where('id', '=', id).where('expires_at', '<', next).execute());
      expiresAt = next;
    }
    return { principalId: row.principal_id, kind: row.kind, name: row.name, csrfToken: row.csrf_token, createdAt, expiresAt };
  }

  async delete(token: string): Promise<boolean> {
    if (!TOKEN.test(token)) return false;
    const res = await this.writes(() => this.db.deleteFrom('sessions').where('id', '=', hashOf(token)).executeTakeFirst());
    return Number(res.numDeletedRows) > 0;
  }

  async deleteFor(principalId: number): Promise<number> {
    const res = await this.writes(() => this.db.deleteFrom('sessions').where('principal_id', '=', principalId).executeTakeFirst());
    return Number(res.numDeletedRows);
  }

  async purgeExpired(): Promise<number> {
    const res = await this.writes(() => this.db.deleteFrom('sessions').where('expires_at', '<=', this.now()).executeTakeFirst());
    return Number(res.numDeletedRows);
  }
}
