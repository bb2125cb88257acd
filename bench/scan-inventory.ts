// How long the built-in scanner takes to inventory a big image, and how much memory it needs:
// one layer file (made beforehand, e.g. `tar -C / -cf - usr/lib | zstd -3 > usr-lib.tar.zst`)
// read by inventoryOf with every analyzer, as the scanner would read it from the blob store.
// Prints time, the decompressed and kept bytes, packages found and peak RSS (getrusage's maxrss).
//   node dist/bench/scan-inventory.js <layer file> [media type]
import { createReadStream, statSync } from 'node:fs';
import { inventoryOf } from '../src/scan/inventory-of.js';

const [file, mediaType = ''] = process.argv.slice(2);
if (!file) {
  console.error('usage: node dist/bench/scan-inventory.js <layer file> [media type; default: sniff the compression]');
  process.exit(2);
}
const started = process.hrtime.bigint();
const inventory = await inventoryOf([{ digest: 'sha256:bench', mediaType, open: async () => createReadStream(file, { highWaterMark: 1 << 20 }) }]);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const byEcosystem = new Map<string, number>();
for (const p of inventory.packages) byEcosystem.set(p.ecosystem, (byEcosystem.get(p.ecosystem) ?? 0) + 1);
console.log(
  JSON.stringify({
    file,
    compressedBytes: statSync(file).size,
    seconds: Math.round(seconds * 100) / 100,
    compressedMBps: Math.round(statSync(file).size / 1e6 / seconds),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    packages: Object.fromEntries(byEcosystem),
    warnings: inventory.warnings.length,
    firstWarnings: inventory.warnings.slice(0, 5),
  }),
);
