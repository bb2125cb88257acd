// Fleet coordination on PostgreSQL: shared values in one table, named locks as session advisory
// locks. Every replica of a fleet points at the same database.
//
// A lock is pg_advisory_lock on a 64-bit key derived from its name, taken on a connection of its
// own that is held for as long as the lease: PostgreSQL drops a session's advisory locks with
// the session, so a replica that dies (kill -9, a lost network) frees its locks as soon as the
// server sees the connection go, with no lease time to wait out. The holder learns that it lost
// a lock through Lease.signal: its connection errored or ended, or a periodic "select 1" on it
// failed or did not answer in time.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Coordination, KeyValueStore, Lease, Locker } from './coordination.js';
import { checkKey, checkLockName, checkPrefix, prefixEnd } from './keys.js';

export interface PostgresCoordinationOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections for the key-value store; each held lock uses one more of its own. Default 4. */
  poolSize?: number;
  /** How often a held lock's connection is checked; a check that fails or takes longer aborts Lease.signal. Default 10 s. */
  pingMs?: number;
  /** How long to wait for a connection. Default 10 s. */
  connectTimeoutMs?: number;
}

const TABLE = 'coordination_kv';
/** Milliseconds since the epoch on the database's clock, the one clock every replica shares. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/**
 * The advisory-lock key for a name: the first 8 bytes of SHA-256("minato/lock/" + name), as a
 * signed 64-bit integer (pg_advisory_lock's bigint form; its key space is apart from the
 * two-int4 form's). Passed as text, since JavaScript numbers hold only 53 bits.
 */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(`minato/lock/${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * KeyValueStore and Locker on PostgreSQL 15.
 *
 * Cost: every KV call is one round trip on a pooled connection. `lock` and `tryLock` open a
 * connection (a few milliseconds with SCRAM) that stays open while the lock is held, plus one
 * "select 1" per `pingMs` on it. Errors: the pg driver's, unchanged (connection refused, a
 * terminated session, ...); nothing is retried here.
 */
export class PostgresCoordination implements Coordination {
  readonly kv: KeyValueStore;
  readonly locker: Locker;
  private readonly leases = new Set<PgLease>();

  private constructor(private readonly pool: pg.Pool, clientConfig: pg.ClientConfig, pingMs: number) {
    this.kv = new PgKeyValueStore(pool);
    this.locker = new PgLocker(clientConfig, pingMs, this.leases);
  }

  /** Connects and creates the table when it is missing. */
  static async open(opts: PostgresCoordinationOptions): Promise<PostgresCoordination> {
    const clientConfig: pg.ClientConfig = { connectionString: opts.url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000, keepAlive: true };
    const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 4, application_name: 'minato-coordination' });
    // An idle pooled connection that dies (a restarted server) is dropped by the pool and the next
    // call opens a new one; without a listener its 'error' event would end the process.
    pool.on('error', () => undefined);
    const client = await pool.connect();
    try {
      // Several replicas starting at once: "create table if not exists" can still collide on the
      // catalog (a unique violation on pg_type), so they take turns.
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock($1::bigint)', [advisoryKey('coordination/schema')]);
      await client.query(`create table if not exists ${TABLE} (key text collate "C" primary key, value bytea not null, modified bigint not null)`);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      client.release();
      await pool.end();
      throw err;
    }
    client.release();
    return new PostgresCoordination(pool, clientConfig, opts.pingMs ?? 10_000);
  }

  /** Releases the locks this instance holds, then closes the pool. */
  async close(): Promise<void> {
    for (const lease of [...this.leases]) await lease.release();
    if (!this.pool.ended) await this.pool.end();
  }
}

class PgKeyValueStore implements KeyValueStore {
  constructor(private readonly pool: pg.Pool) {}

  async load(key: string): Promise<Buffer | undefined> {
    const r = await this.pool.query<{ value: Buffer }>(`select value from ${TABLE} where key = $1`, [checkKey(key)]);
    return r.rows[0]?.value;
  }

  async store(key: string, value: Buffer): Promise<void> {
    // `modified` never repeats for one key, even for two stores in one millisecond: pollers
    // compare it to tell that something changed.
    await this.pool.query(
      `insert into ${TABLE} (key, value, modified) values ($1, $2, ${NOW_MS})
       on conflict (key) do update set value = excluded.value, modified = greatest(excluded.modified, ${TABLE}.modified + 1)`,
      [checkKey(key), value],
    );
  }

  async storeIfAbsent(key: string, value: Buffer): Promise<boolean> {
    const r = await this.pool.query(`insert into ${TABLE} (key, value, modified) values ($1, $2, ${NOW_MS}) on conflict (key) do nothing`, [checkKey(key), value]);
    return r.rowCount === 1;
  }

  async delete(key: string): Promise<void> {
    await this.pool.query(`delete from ${TABLE} where key = $1`, [checkKey(key)]);
  }

  async list(prefix: string): Promise<string[]> {
    // The column's "C" collation makes this an index range in byte order.
    const r = await this.pool.query<{ key: string }>(`select key from ${TABLE} where key >= $1 and key < $2 order by key`, [checkPrefix(prefix), prefixEnd(prefix)]);
    return r.rows.map((row) => row.key);
  }

  async modified(key: string): Promise<number | undefined> {
    const r = await this.pool.query<{ modified: string }>(`select modified from ${TABLE} where key = $1`, [checkKey(key)]);
    return r.rows[0] ? Number(r.rows[0].modified) : undefined;
  }
}

class PgLocker implements Locker {
  constructor(
    private readonly clientConfig: pg.ClientConfig,
    readonly pingMs: number,
    readonly held: Set<PgLease>,
  ) {}

  async lock(name: string, signal?: AbortSignal): Promise<Lease> {
    checkLockName(name);
    signal?.throwIfAborted();
    const client = this.newClient();
    // Aborting a wait closes its connection: the server ends the pg_advisory_lock call with it
    // (and, had the lock just been granted, releases it with the session).
    const onAbort = () => void client.end().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      await client.query('select pg_advisory_lock($1::bigint)', [advisoryKey(name)]);
      signal?.throwIfAborted();
    } catch (err) {
      await client.end().catch(() => undefined);
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return new PgLease(this, client, name);
  }

  async tryLock(name: string): Promise<Lease | undefined> {
    checkLockName(name);
    const client = this.newClient();
    try {
      await client.connect();
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [advisoryKey(name)]);
      if (r.rows[0]?.ok) return new PgLease(this, client, name);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    await client.end().catch(() => undefined);
    return undefined;
  }

  private newClient(): pg.Client {
    const client = new pg.Client({ ...this.clientConfig, application_name: 'minato-lock' });
    // Errors before the lease exists reject connect() or the query; this keeps them from ending the process.
    client.on('error', () => undefined);
    return client;
  }
}

class PgLease implements Lease {
  private readonly lost = new AbortController();
  private readonly ping: NodeJS.Timeout;
  private released = false;

  constructor(
    private readonly locker: PgLocker,
    private readonly client: pg.Client,
    readonly name: string,
  ) {
    locker.held.add(this);
    client.on('error', (err) => this.lose(`the connection holding lock "${name}" failed: ${err.message}`));
    client.on('end', () => this.lose(`the connection holding lock "${name}" was closed`));
    this.ping = setInterval(() => void this.check(), locker.pingMs);
    this.ping.unref();
  }

  get signal(): AbortSignal {
    return this.lost.signal;
  }

  private async check(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.locker.pingMs} ms`)), this.locker.pingMs);
    });
    try {
      await Promise.race([this.client.query('select 1'), late]);
    } catch (err) {
      this.lose(`the connection holding lock "${this.name}" stopped answering: ${(err as Error).message}`);
      void this.client.end().catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  private lose(message: string): void {
    if (this.released) return;
    this.stop();
    this.lost.abort(new Error(message));
  }

  private stop(): void {
    this.released = true;
    clearInterval(this.ping);
    this.locker.held.delete(this);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.stop();
    // Unlocked explicitly first: the session's end releases it too, but only once the server
    // has processed the disconnect, after end() has already returned here.
    await this.client.query('select pg_advisory_unlock($1::bigint)', [advisoryKey(this.name)]).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
