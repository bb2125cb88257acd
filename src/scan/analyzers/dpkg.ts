// Debian and Ubuntu packages: var/lib/dpkg/status, and var/lib/dpkg/status.d/* where distroless
// images keep one file per package. Advisories for these distributions are keyed by *source*
// package, so each package carries its source name and version (defaults as dpkg's own:
// no Source field means the binary's name; a Source without `(version)` means the binary's version).
import type { InventoryPackage } from '../inventory.js';
import type { ImageFiles } from '../layers.js';
import { filesFor, parseParagraphs, purl, type Analyzer, type AnalyzerContext, type AnalyzerResult } from './analyzer.js';
import { osvEcosystem, purlDistro } from './os-release.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;

export const dpkgAnalyzer: Analyzer = {
  name: 'dpkg',
  // status.d also holds <pkg>.md5sums files (distroless); they are no package records.
  wants: (p) => p === STATUS || (STATUS_D.test(p) && !p.endsWith('.md5sums')),
  analyze(files: ImageFiles, { os }: AnalyzerContext): AnalyzerResult {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    const ecosystem = osvEcosystem(os, 'Debian');
    const namespace = os?.id === 'ubuntu' ? 'ubuntu' : 'debian';
    for (const file of filesFor(dpkgAnalyzer, files)) {
      let skipped = 0;
      for (const fields of parseParagraphs(file.data.toString('utf8'))) {
        const name = fields.get('package');
        const version = fields.get('version');
        if (!name || !version) {
          skipped++;
          continue;
        }
        // "install ok installed"; deinstall/purge mean removed (maybe with its config files left).
        const status = fields.get('status') ?? 'install ok installed';
        if (/\b(deinstall|purge)\b/.test(status) || /\bnot-installed\b/.test(status)) continue;
        const source = parseSource(fields.get('source'), name, version);
        packages.push({
          ecosystem,
          name,
          version,
          source,
          purl: purl('deb', namespace, name, version, { arch: fields.get('architecture'), distro: purlDistro(os) }),
          layerDigest: file.layerDigest,
          path: file.path,
        });
      }
      if (skipped) warnings.push(`${file.path}: ${skipped} entries without Package or Version; ignored`);
    }
    return { packages, warnings };
  },
};

/** `Source: name` or `Source: name (version)`, with dpkg's defaults for what is missing. */
export function parseSource(field: string | undefined, name: string, version: string): { name: string; version: string } {
  if (!field) return { name, version };
  const m = /^(\S+)(?:\s*\(([^)]+)\))?/.exec(field.trim());
  if (!m) return { name, version };
  return { name: m[1]!, version: m[2]?.trim() || version };
}
