// Fleet coordination, in certmagic's shape (storage.go: Locker + Storage): a key-value store for
// shared assets (TLS certificates and keys, ACME account, HTTP-01 tokens, the token-signing key,
// the private CA) and named locks for work that must happen once per fleet (an ACME order, the
// upload purge, every later background job). Embedded: SQLite (coordination/sqlite.ts); fleets:
// PostgreSQL (coordination/postgres.ts).
//
// The rule that makes locks safe: acquire, then RE-CHECK whether the work is still needed (another
// replica may have done it while this one waited), then do it, then release.
//
// Conformance: test/conformance/coordination.ts, run against every implementation.

/**
 * Shared keys and values. Keys are '/'-separated paths ("tls/certs/example.com/cert.pem").
 * Concurrency: `store` replaces a whole value atomically (readers see the old or the new value,
 * never a mix); concurrent stores of one key: the last wins. Cost: one database round trip.
 */
export interface KeyValueStore {
  /** The value, or undefined when there is none. */
  load(key: string): Promise<Buffer | undefined>;
  store(key: string, value: Buffer): Promise<void>;
  /** Stores only when the key has no value yet; false when it had one (that value is kept). For "first replica generates the key". */
  storeIfAbsent(key: string, value: Buffer): Promise<boolean>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, in byte order. */
  list(prefix: string): Promise<string[]>;
  /** When a key was last stored (ms since the epoch), or undefined. */
  modified(key: string): Promise<number | undefined>;
  /** Where a key's value lives, for messages people act on (the file store: its path). Optional; no I/O. */
  locate?(key: string): string;
}

/** A held lock. `release` is idempotent. `signal` aborts when the lock was lost (its connection or process died). */
export interface Lease {
  readonly name: string;
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * Named, exclusive locks across the fleet. A lock is held until released, or until its holder
 * dies (a killed process never leaves a lock held forever: PostgreSQL drops session advisory
 * locks with the connection; the embedded store expires leases it does not see renewed).
 */
export interface Locker {
  /** Waits until the lock is free (or `signal` aborts: the promise rejects with its reason). */
  lock(name: string, signal?: AbortSignal): Promise<Lease>;
  /** The lock if it is free now, else undefined. For "whoever is leader does it" jobs. */
  tryLock(name: string): Promise<Lease | undefined>;
}

export interface Coordination {
  kv: KeyValueStore;
  locker: Locker;
  close(): Promise<void>;
}
