// Recently served manifests, by repository and digest. A digest names immutable content, so an
// entry can only become wrong by deletion, which evicts it. Bounded by total bytes.
import type { ManifestRecord } from '../metadata/registry-metadata.js';

export class ManifestCache {
  private readonly entries = new Map<string, ManifestRecord>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(repository: string, digest: string): ManifestRecord | undefined {
    const key = `${repository}@${digest}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Refresh its place in the LRU order.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(repository: string, record: ManifestRecord): void {
    if (record.size > this.maxBytes / 16) return;
    const key = `${repository}@${record.digest}`;
    this.delete(repository, record.digest);
    this.entries.set(key, record);
    this.bytes += record.size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.size;
    }
  }

  delete(repository: string, digest: string): void {
    const key = `${repository}@${digest}`;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.size;
    }
  }
}
