// The coordination a configuration asks for, and where its keys and certificates live, for the
// composition root and the CLI. Embedded (database.driver sqlite): SQLite locks in
// <data>/coordination.db and keys and certificates in the data directory's files. A fleet
// (database.driver postgres): locks and every shared asset in the same PostgreSQL database.
import type { Config } from '../config/schema.js';
import type { Coordination, KeyValueStore } from '../coordination/coordination.js';
import { assetStore, openAssetStore, openCoordination, type CoordinationOptions } from '../coordination/open.js';

/** What the TLS layer and the token service use: locks and small shared values, and the asset store. */
export interface Shared {
  coordination: Coordination;
  /** TLS certificates, the ACME account, the private CA, the token-signing key. */
  assets: KeyValueStore;
  close(): Promise<void>;
}

export function coordinationOptions(config: Config, dataDir: string): CoordinationOptions {
  return config.database.driver === 'postgres' ? { driver: 'postgres', url: config.database.url } : { driver: 'sqlite', dataDir };
}

/** Whether several processes may serve this registry (then background jobs take fleet locks). */
export function isFleet(config: Config): boolean {
  return config.database.driver === 'postgres';
}

export async function openShared(config: Config, dataDir: string): Promise<Shared> {
  const opts = coordinationOptions(config, dataDir);
  const coordination = await openCoordination(opts);
  return { coordination, assets: assetStore(opts, coordination), close: () => coordination.close() };
}

/** Only the asset store, for the CLI's ca and trust commands; `work` runs with it open. */
export async function withAssets<T>(config: Config, work: (assets: KeyValueStore) => Promise<T>): Promise<T> {
  const { assets, close } = await openAssetStore(coordinationOptions(config, config.data));
  try {
    return await work(assets);
  } finally {
    await close();
  }
}
