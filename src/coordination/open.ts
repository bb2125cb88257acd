// Builds the coordination a configuration asks for, for the composition root and the CLI:
// embedded (SQLite in the data directory) or a fleet's (PostgreSQL). Also says where keys and
// certificates live: the data directory's files when embedded, the shared store in a fleet.
import path from 'node:path';
import type { Coordination, KeyValueStore, Lease, Locker } from './coordination.js';
import { FileKeyValueStore } from './files.js';
import { SqliteCoordination } from './sqlite.js';

export type CoordinationOptions =
  | {
      driver: 'sqlite';
      /** The data directory: locks and small shared values go to its coordination.db. */
      dataDir: string;
      /** How long a lock outlives a holder that stopped renewing it (killed). Default 15 s. */
      leaseMs?: number;
    }
  | {
      driver: 'postgres';
      url: string;
      poolSize?: number;
      /** How often a held lock's connection is checked. Default 10 s. */
      pingMs?: number;
    };

export async function openCoordination(opts: CoordinationOptions): Promise<Coordination> {
  if (opts.driver === 'sqlite') return new SqliteCoordination({ file: path.join(opts.dataDir, 'coordination.db'), leaseMs: opts.leaseMs });
  // Loaded only for fleets: the embedded mode never pays for the pg driver.
  const { PostgresCoordination } = await import('./postgres.js');
  return PostgresCoordination.open(opts);
}

/**
 * Where the registry's keys and certificates live (TLS certificates, the ACME account, the
 * private CA, the token-signing key). Embedded: files in the data directory, the layout minato
 * always had (files.ts says why). A fleet: the shared store, so every replica has the same ones.
 */
export function assetStore(opts: CoordinationOptions, coordination: Coordination): KeyValueStore {
  return embeddedAssets(opts) ?? coordination.kv;
}

/** The asset store alone, for commands that need no locks (the CLI's ca and trust): embedded, no database is opened. */
export async function openAssetStore(opts: CoordinationOptions): Promise<{ assets: KeyValueStore; close(): Promise<void> }> {
  const files = embeddedAssets(opts);
  if (files) return { assets: files, close: async () => undefined };
  const coordination = await openCoordination(opts);
  return { assets: coordination.kv, close: () => coordination.close() };
}

function embeddedAssets(opts: CoordinationOptions): KeyValueStore | undefined {
  return opts.driver === 'sqlite' ? new FileKeyValueStore(path.resolve(opts.dataDir)) : undefined;
}

/**
 * Runs `work` while holding lock `name`, then releases it whatever happens. `work` gets the
 * lease: its signal aborts when the lock is lost, and work that must not run twice at once
 * stops then. The rule of every lock: inside, first re-check whether the work is still needed.
 */
export async function withLock<T>(locker: Locker, name: string, signal: AbortSignal | undefined, work: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await locker.lock(name, signal);
  try {
    return await work(lease);
  } finally {
    await lease.release();
  }
}

/** What the key is, where it lives: a file path for the file store, else the key in the shared store. */
export function describeKey(kv: KeyValueStore, key: string): string {
  return kv.locate?.(key) ?? `"${key}" in the shared store`;
}
