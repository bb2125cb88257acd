// The coordination a configuration asks for, and where its keys and certificates live, for the
// composition root and the CLI. Today every configuration is embedded: SQLite locks in
// <data>/coordination.db and keys and certificates in the data directory's files. The fleet mode
// (database.driver postgres) maps to { driver: 'postgres', url } here and nowhere else.
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

export function coordinationOptions(_config: Config, dataDir: string): CoordinationOptions {
  return { driver: 'sqlite', dataDir };
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
