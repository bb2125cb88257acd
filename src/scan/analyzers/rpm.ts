// RPM packages (RHEL, Fedora, Rocky, Alma, SUSE, Azure Linux): the rpm database in any of its
// three formats (SQLite rpmdb.sqlite since RHEL 9 / Fedora 33, BerkeleyDB Packages before, NDB
// Packages.db on SUSE), in var/lib/rpm or usr/lib/sysimage/rpm, read by @snyk/rpm-parser. The
// source package name comes from SOURCERPM (`name-version-release.src.rpm`); versions are rpm's
// `[epoch:]version-release`.
import { formatRpmPackageVersion, getPackages, getPackagesNdb, getPackagesSqlite } from '@snyk/rpm-parser';
import type { InventoryPackage } from '../inventory.js';
import type { ImageFiles } from '../layers.js';
import { filesFor, purl, type Analyzer, type AnalyzerContext, type AnalyzerResult } from './analyzer.js';
import { osvEcosystem, purlDistro } from './os-release.js';

const DB = /^(?:var\/lib\/rpm|usr\/lib\/sysimage\/rpm|usr\/share\/rpm)\/(rpmdb\.sqlite|Packages|Packages\.db)$/;

/** purl namespaces of the rpm distributions (purl-spec's rpm type uses the vendor's short name). */
const NAMESPACES: Record<string, string> = { rhel: 'redhat', centos: 'centos', fedora: 'fedora', rocky: 'rocky', almalinux: 'almalinux', 'opensuse-leap': 'opensuse', 'opensuse-tumbleweed': 'opensuse', sles: 'suse', mariner: 'mariner', azurelinux: 'azurelinux', amzn: 'amazon', ol: 'oracle' };

export const rpmAnalyzer: Analyzer = {
  name: 'rpm',
  wants: (p) => DB.test(p),
  async analyze(files: ImageFiles, { os }: AnalyzerContext): Promise<AnalyzerResult> {
    const packages: InventoryPackage[] = [];
    const warnings: string[] = [];
    const ecosystem = osvEcosystem(os, 'Red Hat');
    const namespace = (os && NAMESPACES[os.id]) ?? os?.id ?? 'redhat';
    const dbs = filesFor(rpmAnalyzer, files);
    // An image with both (a converted database) lists each package twice: read the newest format only.
    const order = ['rpmdb.sqlite', 'Packages.db', 'Packages'];
    dbs.sort((a, b) => order.indexOf(DB.exec(a.path)![1]!) - order.indexOf(DB.exec(b.path)![1]!));
    for (const file of dbs.slice(0, 1)) {
      const kind = DB.exec(file.path)![1]!;
      const read = kind === 'rpmdb.sqlite' ? getPackagesSqlite : kind === 'Packages.db' ? getPackagesNdb : getPackages;
      let result: Awaited<ReturnType<typeof getPackages>>;
      try {
        result = await read(file.data);
      } catch (err) {
        warnings.push(`${file.path}: not a readable rpm database (${(err as Error).message})`);
        continue;
      }
      if (result.error) warnings.push(`${file.path}: ${result.error.message}`);
      for (const pkg of result.response) {
        // gpg-pubkey "packages" are imported signing keys, not software.
        if (!pkg.name || !pkg.version || pkg.name === 'gpg-pubkey') continue;
        const version = formatRpmPackageVersion(pkg);
        const source = pkg.sourceRPM ? parseSourceRpm(pkg.sourceRPM) : undefined;
        packages.push({
          ecosystem,
          name: pkg.name,
          version,
          ...(source ? { source } : {}),
          purl: purl('rpm', namespace, pkg.name, `${pkg.version}-${pkg.release}`, { arch: pkg.arch, epoch: pkg.epoch ? String(pkg.epoch) : undefined, distro: purlDistro(os) }),
          layerDigest: file.layerDigest,
          path: file.path,
        });
      }
    }
    return { packages, warnings };
  },
};

/** `openssl-3.0.7-27.el9.src.rpm` → { name: 'openssl', version: '3.0.7-27.el9' }. */
export function parseSourceRpm(sourceRpm: string): { name: string; version: string } | undefined {
  const base = sourceRpm.replace(/\.(?:no)?src\.rpm$/, '');
  const rel = base.lastIndexOf('-');
  const ver = rel > 0 ? base.lastIndexOf('-', rel - 1) : -1;
  if (ver <= 0) return undefined;
  return { name: base.slice(0, ver), version: base.slice(ver + 1) };
}
