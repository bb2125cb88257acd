// Version comparison for every ecosystem the scanner matches: one `compare(scheme, a, b)`, and
// which scheme an OSV ecosystem string uses (Debian/Ubuntu: dpkg; Alpine, Wolfi, Chainguard: apk;
// the RPM distributions: rpm; npm, Go, crates.io, ...: semver). PyPI and the rest use a natural
// order (digits as numbers, pre-release words before the release) until they get their own.
import semver from 'semver';
import type { VersionScheme } from '../inventory.js';
import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { compareRpm } from './rpm.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Semantic versions (SemVer 2.0, an optional leading `v` as Go writes them); others fall back. */
export function compareSemver(a: string, b: string): number {
  const x = semver.parse(a, { loose: true });
  const y = semver.parse(b, { loose: true });
  if (x && y) return semver.compare(x, y);
  return compareNatural(a, b);
}

/**
 * The order when no scheme applies: runs of digits compare as numbers, other runs as text, and a
 * side that ends sorts after one that continues with a pre-release word (`1.0rc1 < 1.0`) but
 * before one that continues otherwise (`1.0 < 1.0.1`).
 */
export function compareNatural(a: string, b: string): number {
  const split = (s: string) => s.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
  const x = split(a);
  const y = split(b);
  const pre = /^(a|b|c|alpha|beta|pre|preview|rc|dev)$/;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined) return pre.test(q!) ? 1 : -1;
    if (q === undefined) return pre.test(p) ? -1 : 1;
    const pn = /^\d/.test(p);
    const qn = /^\d/.test(q);
    if (pn && qn) {
      const d = BigInt(p) - BigInt(q);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (pn !== qn) return pn ? 1 : -1;
    else if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

const comparators: Record<VersionScheme, (a: string, b: string) => number> = {
  dpkg: compareDpkg,
  apk: compareApk,
  rpm: compareRpm,
  semver: compareSemver,
  go: compareSemver,
  pep440: compareNatural,
};

/** -1, 0 or 1 as `a` sorts before, with or after `b` in the scheme. */
export function compare(scheme: VersionScheme, a: string, b: string): number {
  return sign(comparators[scheme](a, b));
}

const RPM_DISTROS = ['Red Hat', 'AlmaLinux', 'Rocky Linux', 'SUSE', 'openSUSE', 'Photon OS', 'Azure Linux', 'Mageia', 'openEuler', 'CentOS', 'Fedora', 'Oracle Linux', 'Amazon Linux'];
const SEMVER_ECOSYSTEMS = ['npm', 'crates.io', 'NuGet', 'Packagist', 'Hex', 'Pub', 'SwiftURL'];

/** The base of an OSV ecosystem string: `Debian:12` -> `Debian`, `Ubuntu:22.04:LTS` -> `Ubuntu`. */
export function ecosystemBase(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/** The version scheme of an OSV ecosystem (harbor-layer.md §4.2); natural order when unknown. */
export function schemeOf(ecosystem: string): VersionScheme {
  const base = ecosystemBase(ecosystem);
  if (base === 'Debian' || base === 'Ubuntu') return 'dpkg';
  if (base === 'Alpine' || base === 'Wolfi' || base === 'Chainguard' || base === 'Alpaquita') return 'apk';
  if (RPM_DISTROS.includes(base)) return 'rpm';
  if (base === 'Go') return 'go';
  if (base === 'PyPI') return 'pep440';
  if (SEMVER_ECOSYSTEMS.includes(base)) return 'semver';
  return 'pep440';
}
