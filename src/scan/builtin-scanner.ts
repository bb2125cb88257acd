// The built-in scanner: reads an image's package inventory from its layers (the injected
// `inventoryOf`, scan/inventory-of.ts's inventoryOfImage) and matches it against the imported
// vulnerability data (vulndb/, matcher.ts). No external scanner, no network: the data is what
// `minato vulndb import` brought. `match` alone re-matches a stored inventory after an import.
import type { BlobStore } from '../storage/blob-store.js';
import { minatoVersion } from '../util/version.js';
import type { ArtifactScanner, Finding, Inventory, ScanResult } from './inventory.js';
import { lookupNames, matchInventory } from './matcher.js';
import type { VulnDb } from './vulndb/store.js';

/** The layer reader's shape (scan/inventory-of.ts): an image manifest's packages, from its blobs. */
export type InventoryOfImage = (blobs: BlobStore, manifestBytes: Buffer) => Promise<Inventory>;

export interface BuiltinScannerDeps {
  blobs: BlobStore;
  /** The bytes of a manifest a repository stores; throws when it is not there. */
  manifestBytes(repository: string, digest: string): Promise<Buffer>;
  inventoryOf: InventoryOfImage;
  vulndb: VulnDb;
}

export class BuiltinScanner implements ArtifactScanner {
  readonly info = { name: 'minato', vendor: 'minato', version: minatoVersion() };

  constructor(private readonly deps: BuiltinScannerDeps) {}

  async scan(target: { repository: string; digest: string; mediaType: string }, progress?: (fraction: number) => void): Promise<ScanResult> {
    const manifest = await this.deps.manifestBytes(target.repository, target.digest);
    progress?.(0.05);
    const inventory = await this.deps.inventoryOf(this.deps.blobs, manifest);
    progress?.(0.8);
    const findings = await this.match(inventory);
    progress?.(1);
    return { findings, inventory };
  }

  /** The findings of an inventory against the data imported now. */
  match(inventory: Inventory): Promise<Finding[]> {
    return matchWith(this.deps.vulndb, inventory);
  }
}

/** The findings of an inventory against a VulnDb's records (the scanner's, and the CLI's re-match). */
export async function matchWith(vulndb: VulnDb, inventory: Inventory): Promise<Finding[]> {
  return matchInventory(inventory, await vulndb.affecting(lookupNames(inventory)));
}
