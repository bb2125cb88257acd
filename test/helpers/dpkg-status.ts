// A dpkg status file as an Inventory, for the scanner's tests that match this machine's real
// packages (/var/lib/dpkg/status) or an image layer built from one. Only what the tests need:
// installed packages with their source; the scanner's own analyzer lives in src/scan/.
import type { Inventory, InventoryPackage } from '../../src/scan/inventory.js';

export function dpkgStatusInventory(status: string, options: { versionId: string; layerDigest: string }): Inventory {
  const packages: InventoryPackage[] = [];
  for (const paragraph of status.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const m of paragraph.matchAll(/^([A-Za-z-]+):\s*(.*)$/gm)) fields.set(m[1]!, m[2]!);
    const name = fields.get('Package');
    const version = fields.get('Version');
    if (!name || !version || !/\binstalled\b/.test(fields.get('Status') ?? '')) continue;
    const src = /^(\S+)(?:\s+\((\S+)\))?/.exec(fields.get('Source') ?? '');
    packages.push({
      ecosystem: `Debian:${options.versionId}`,
      name,
      version,
      source: { name: src?.[1] ?? name, version: src?.[2] ?? version },
      purl: `pkg:deb/debian/${name}@${encodeURIComponent(version)}`,
      layerDigest: options.layerDigest,
      path: 'var/lib/dpkg/status',
    });
  }
  return { os: { id: 'debian', versionId: options.versionId }, packages, warnings: [] };
}
