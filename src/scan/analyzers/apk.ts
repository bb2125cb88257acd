// Alpine, Wolfi and Chainguard packages: lib/apk/db/installed, one `K:value` line per field and
// a blank line between packages (P name, V version, A arch, o origin, L license). Advisories
// (Alpine secdb) are keyed by origin, the package's source.
import type { InventoryPackage } from '../inventory.js';
import type { ImageFiles } from '../layers.js';
import { filesFor, purl, type Analyzer, type AnalyzerContext, type AnalyzerResult } from './analyzer.js';
import { osvEcosystem, purlDistro } from './os-release.js';

const INSTALLED = 'lib/apk/db/installed';

export const apkAnalyzer: Analyzer = {
  name: 'apk',
  wants: (p) => p === INSTALLED,
  analyze(files: ImageFiles, { os }: AnalyzerContext): AnalyzerResult {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    const ecosystem = osvEcosystem(os, 'Alpine');
    const namespace = os?.id === 'wolfi' || os?.id === 'chainguard' ? os.id : 'alpine';
    for (const file of filesFor(apkAnalyzer, files)) {
      let skipped = 0;
      for (const fields of apkRecords(file.data.toString('utf8'))) {
        const name = fields.get('P');
        const version = fields.get('V');
        if (!name || !version) {
          skipped++;
          continue;
        }
        const license = fields.get('L');
        packages.push({
          ecosystem,
          name,
          version,
          source: { name: fields.get('o') || name, version },
          purl: purl('apk', namespace, name, version, { arch: fields.get('A'), distro: purlDistro(os) }),
          ...(license ? { licenses: [license] } : {}),
          layerDigest: file.layerDigest,
          path: file.path,
        });
      }
      if (skipped) warnings.push(`${file.path}: ${skipped} entries without P: or V:; ignored`);
    }
    return { packages, warnings };
  },
};

/** The records of an apk database; a key seen twice in one record (R:, F:) keeps the first. */
function apkRecords(text: string): Map<string, string>[] {
  const records: Map<string, string>[] = [];
  let current = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '') {
      if (current.size) records.push(current);
      current = new Map();
      continue;
    }
    if (line[1] !== ':') continue;
    const key = line[0]!;
    if (!current.has(key)) current.set(key, line.slice(2));
  }
  if (current.size) records.push(current);
  return records;
}
