// Embedded coordination: shared values and named locks in a SQLite file of the data directory
// (coordination.db), for every process that shares that directory: the server and the CLI.
//
// Its own file, not a table in minato.db: lock heartbeats write every few seconds, and in
// minato.db each of them would queue behind (and hold up) the metadata store's writer; the
// tables are created with "create table if not exists", so no migrator is involved and nothing
// can clash with the metadata migrations.
//
// Locks are rows with a lease: the holder renews its row's expiry on a heartbeat (a third of the
// lease), and a row whose lease ran out is taken over. A holder killed with -9 therefore frees
// its locks within `leaseMs`; a holder that could not renew in time (its event loop blocked past
// the lease, the file unwritable) learns it through Lease.signal. Expiry compares the clocks of
// the processes involved: they share a data directory, so they run on one machine (a data
// directory shared over the network between hosts needs their clocks in step).
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import type { Coordination, KeyValueStore, Lease, Locker } from './coordination.js';
import { checkKey, checkLockName, checkPrefix, prefixEnd } from './keys.js';

export interface SqliteCoordinationOptions {
  /** The database file: <data>/coordination.db. Created (mode 0600) when missing. */
  file: string;
  /** How long a lock stays held without renewal: the longest a killed holder keeps it. Default 15 s. */
  leaseMs?: number;
  /** Longest pause between two attempts of a waiting `lock` (attempts start at 10 ms and double). Default 250 ms. */
  pollMs?: number;
}

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_POLL_MS = 250;

/**
 * KeyValueStore and Locker on one SQLite connection (WAL, synchronous=NORMAL: a committed value
 * survives a crash of the process; a power loss may roll back the last ones).
 *
 * Cost: every call is one synchronous statement of a few microseconds on the event loop; when
 * another process holds SQLite's write lock, a write waits for it (busy_timeout, at most 5 s),
 * which only ever happens for the few milliseconds another process's write takes.
 */
export class SqliteCoordination implements Coordination {
  readonly kv: KeyValueStore;
  readonly locker: Locker;
  private readonly db: Sqlite.Database;
  private readonly leases = new Set<SqliteLease>();

  constructor(opts: SqliteCoordinationOptions) {
    // Opening with mode 0600 first: better-sqlite3 would create the file world-readable (umask 022),
    // and it holds challenge tokens and whatever later jobs keep here.
    closeSync(openSync(opts.file, 'a', 0o600));
    const db = new Sqlite(opts.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      create table if not exists kv (key text primary key, value blob not null, modified integer not null) without rowid;
      create table if not exists locks (name text primary key, holder text not null, expires integer not null) without rowid;
    `);
    this.db = db;
    this.kv = new SqliteKeyValueStore(db);
    this.locker = new SqliteLocker(db, opts.leaseMs ?? DEFAULT_LEASE_MS, opts.pollMs ?? DEFAULT_POLL_MS, this.leases);
  }

  /** Releases the locks this instance holds, then closes the connection. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    for (const lease of [...this.leases]) await lease.release();
    this.db.close();
  }
}

class SqliteKeyValueStore implements KeyValueStore {
  private readonly loadStmt: Sqlite.Statement<[string], { value: Buffer }>;
  private readonly storeStmt: Sqlite.Statement<[string, Buffer, number]>;
  private readonly insertStmt: Sqlite.Statement<[string, Buffer, number]>;
  private readonly deleteStmt: Sqlite.Statement<[string]>;
  private readonly listStmt: Sqlite.Statement<[string, string], { key: string }>;
  private readonly modifiedStmt: Sqlite.Statement<[string], { modified: number }>;

  constructor(db: Sqlite.Database) {
    this.loadStmt = db.prepare('select value from kv where key = ?');
    // `modified` never repeats for one key, even for two stores in one millisecond: pollers
    // compare it to tell that something changed.
    this.storeStmt = db.prepare('insert into kv (key, value, modified) values (?, ?, ?) on conflict (key) do update set value = excluded.value, modified = max(excluded.modified, kv.modified + 1)');
    this.insertStmt = db.prepare('insert into kv (key, value, modified) values (?, ?, ?) on conflict (key) do nothing');
    this.deleteStmt = db.prepare('delete from kv where key = ?');
    this.listStmt = db.prepare('select key from kv where key >= ? and key < ? order by key');
    this.modifiedStmt = db.prepare('select modified from kv where key = ?');
  }

  async load(key: string): Promise<Buffer | undefined> {
    return this.loadStmt.get(checkKey(key))?.value;
  }

  async store(key: string, value: Buffer): Promise<void> {
    this.storeStmt.run(checkKey(key), value, Date.now());
  }

  async storeIfAbsent(key: string, value: Buffer): Promise<boolean> {
    return this.insertStmt.run(checkKey(key), value, Date.now()).changes === 1;
  }

  async delete(key: string): Promise<void> {
    this.deleteStmt.run(checkKey(key));
  }

  async list(prefix: string): Promise<string[]> {
    return this.listStmt.all(checkPrefix(prefix), prefixEnd(prefix)).map((r) => r.key);
  }

  async modified(key: string): Promise<number | undefined> {
    return this.modifiedStmt.get(checkKey(key))?.modified;
  }
}

class SqliteLocker implements Locker {
  private readonly acquireStmt: Sqlite.Statement<{ name: string; holder: string; expires: number; now: number }>;
  readonly renewStmt: Sqlite.Statement<{ name: string; holder: string; expires: number }>;
  readonly releaseStmt: Sqlite.Statement<{ name: string; holder: string }>;
  readonly wakeups = new LocalWakeups();

  constructor(
    db: Sqlite.Database,
    readonly leaseMs: number,
    private readonly pollMs: number,
    readonly held: Set<SqliteLease>,
  ) {
    // One statement, so taking a free or expired lock is atomic across processes.
    this.acquireStmt = db.prepare(
      'insert into locks (name, holder, expires) values (@name, @holder, @expires) on conflict (name) do update set holder = excluded.holder, expires = excluded.expires where locks.expires <= @now',
    );
    this.renewStmt = db.prepare('update locks set expires = @expires where name = @name and holder = @holder');
    this.releaseStmt = db.prepare('delete from locks where name = @name and holder = @holder');
  }

  lock(name: string, signal?: AbortSignal): Promise<Lease> {
    checkLockName(name);
    return waitUntilAcquired(() => this.attempt(name), { name, signal, pollMs: this.pollMs, wakeups: this.wakeups });
  }

  async tryLock(name: string): Promise<Lease | undefined> {
    return this.attempt(checkLockName(name));
  }

  private attempt(name: string): SqliteLease | undefined {
    const holder = `${process.pid}:${randomUUID()}`;
    const now = Date.now();
    if (this.acquireStmt.run({ name, holder, expires: now + this.leaseMs, now }).changes !== 1) return undefined;
    return new SqliteLease(this, name, holder, now + this.leaseMs);
  }
}

class SqliteLease implements Lease {
  private readonly lost = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;
  private released = false;

  constructor(
    private readonly locker: SqliteLocker,
    readonly name: string,
    private readonly holder: string,
    private expiresAt: number,
  ) {
    locker.held.add(this);
    this.heartbeat = setInterval(() => this.renew(), Math.max(10, Math.floor(locker.leaseMs / 3)));
    this.heartbeat.unref();
  }

  get signal(): AbortSignal {
    return this.lost.signal;
  }

  private renew(): void {
    const expires = Date.now() + this.locker.leaseMs;
    try {
      if (this.locker.renewStmt.run({ name: this.name, holder: this.holder, expires }).changes === 1) {
        this.expiresAt = expires;
        return;
      }
      this.lose(`another process took lock "${this.name}" over after its lease ran out (this process did not renew it for ${this.locker.leaseMs} ms: was its event loop blocked?)`);
    } catch (err) {
      // A busy or failing database: keep trying while the lease lasts, then give up.
      if (Date.now() >= this.expiresAt) this.lose(`lock "${this.name}" could not be renewed before its lease ran out: ${(err as Error).message}`);
    }
  }

  private lose(message: string): void {
    this.stop();
    this.lost.abort(new Error(message));
  }

  private stop(): void {
    this.released = true;
    clearInterval(this.heartbeat);
    this.locker.held.delete(this);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.stop();
    try {
      this.locker.releaseStmt.run({ name: this.name, holder: this.holder });
    } catch {
      // The database is closed or failing: the row expires by itself within the lease.
    }
    this.locker.wakeups.wake(this.name);
  }
}

/**
 * Waiters in this process, woken at once when a lease of this process is released; waiters in
 * other processes find out on their next attempt.
 */
class LocalWakeups {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves on the next wake(name) or after `ms`, whichever comes first. */
  pause(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiting.get(name) ?? new Set();
      this.waiting.set(name, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  wake(name: string): void {
    for (const done of [...(this.waiting.get(name) ?? [])]) done();
  }
}

/** Attempts until one succeeds: 10 ms apart at first, doubling up to `pollMs`; rejects with the signal's reason. */
async function waitUntilAcquired<T>(attempt: () => T | undefined, o: { name: string; signal?: AbortSignal; pollMs: number; wakeups: LocalWakeups }): Promise<T> {
  o.signal?.throwIfAborted();
  let onAbort: (() => void) | undefined;
  // One listener for the whole wait (one per attempt would pile up on a long wait).
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(o.signal!.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    let pause = 10;
    for (;;) {
      o.signal?.throwIfAborted();
      const got = attempt();
      if (got !== undefined) return got;
      await Promise.race([o.wakeups.pause(o.name, pause), aborted]);
      pause = Math.min(pause * 2, o.pollMs);
    }
  } finally {
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  }
}
