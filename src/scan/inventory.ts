// The contract of vulnerability scanning (issue 15): what a scan finds in an image (its package
// inventory), what the vulnerability data says about it (findings), and the summary the pull
// gate and the API read. The layer reader and package analyzers (scan/) produce an Inventory;
// the matcher compares it with the imported vulnerability data; reports are stored per artifact
// digest so a feed update re-matches the stored inventory without reading the layers again.
//
// Data and interfaces only: every module of scan/ may import it.

/** Harbor's severity scale (src/pkg/scan/vuln/severity.go), lowest first. */
export const SEVERITIES = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** How versions of a package compare: each ecosystem has its own order. */
export type VersionScheme = 'dpkg' | 'apk' | 'rpm' | 'semver' | 'pep440' | 'go';

/** One installed package or locked dependency found in the image. */
export interface InventoryPackage {
  /** OSV's ecosystem string: `Debian:12`, `Alpine:v3.19`, `Red Hat`, `npm`, `PyPI`, `Go`. */
  ecosystem: string;
  name: string;
  version: string;
  /** For distro packages advisories are keyed by source package (Debian, Ubuntu, Alpine origin). */
  source?: { name: string; version: string };
  /** Package URL (purl), for SBOMs. */
  purl: string;
  licenses?: string[];
  /** The layer the package (its database entry or lockfile) was last written in. */
  layerDigest: string;
  /** The file it was read from inside the image: `var/lib/dpkg/status`, `app/package-lock.json`. */
  path: string;
}

export interface Inventory {
  /** The operating system, from etc/os-release: `{ id: 'debian', versionId: '12' }`. */
  os?: { id: string; versionId: string; prettyName?: string };
  packages: InventoryPackage[];
  /** Analyzer errors that did not stop the scan (an unreadable database, an unsupported layer). */
  warnings: string[];
}

/** One vulnerability affecting one package of the inventory. */
export interface Finding {
  id: string; // CVE-…, GHSA-…, DSA-…
  aliases: string[];
  package: string;
  version: string;
  fixVersion?: string;
  severity: Severity;
  description?: string;
  links: string[];
  layerDigest: string;
  cvss?: { scoreV3?: number; vectorV3?: string };
}

/** What the pull gate and the API need about an artifact's latest scan. */
export interface ScanSummary {
  digest: string;
  status: 'Pending' | 'Running' | 'Success' | 'Error';
  /** The highest severity found (`None` when nothing was found), Harbor's `severity`. */
  severity: Severity | 'None';
  /** Counts per severity, and how many have a fixed version. */
  counts: Partial<Record<Severity, number>>;
  total: number;
  fixable: number;
  /** Finding ids, so a gate can apply a CVE allowlist without loading the report. */
  ids: string[];
  /** The ids per severity, so a gate can drop allowlisted CVEs and still know what remains. */
  idsBySeverity?: Partial<Record<Severity, string[]>>;
  scanner: { name: string; vendor: string; version: string };
  startTime: string;
  endTime?: string;
}

/** The latest scan summaries by artifact digest (the pull gate's lookup; cached by its owner). */
export interface ScanSummaries {
  get(digest: string): Promise<ScanSummary | undefined>;
}

/** What one scan produced: the findings and, for the built-in scanner, the inventory it matched. */
export interface ScanResult {
  findings: Finding[];
  inventory?: Inventory;
}

/**
 * Scans one artifact: the built-in scanner, or a Harbor pluggable scanner adapter (a Trivy
 * adapter) as a client. Resolves when the report is complete; throws an Error whose message says
 * what failed (unreachable adapter, unsupported media type). May take minutes: `progress` gets a
 * fraction in [0, 1].
 */
export interface ArtifactScanner {
  readonly info: { name: string; vendor: string; version: string };
  scan(target: { repository: string; digest: string; mediaType: string; tag?: string }, progress?: (fraction: number) => void): Promise<ScanResult>;
}

/** The stored package inventory of scanned artifacts (what SBOMs and re-matching read). */
export interface Inventories {
  get(digest: string): Promise<Inventory | undefined>;
}

/** The counts part of a summary, from a report's findings (one definition for every scanner). */
export function summarize(findings: readonly Finding[]): Pick<ScanSummary, 'severity' | 'counts' | 'total' | 'fixable' | 'ids' | 'idsBySeverity'> {
  const counts: Partial<Record<Severity, number>> = {};
  const bySeverity: Partial<Record<Severity, Set<string>>> = {};
  let top = -1;
  let fixable = 0;
  for (const f of findings) {
    counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    top = Math.max(top, SEVERITIES.indexOf(f.severity));
    if (f.fixVersion) fixable++;
    (bySeverity[f.severity] ??= new Set()).add(f.id);
  }
  const idsBySeverity = Object.fromEntries(Object.entries(bySeverity).map(([k, v]) => [k, [...v]])) as Partial<Record<Severity, string[]>>;
  return { severity: top < 0 ? 'None' : SEVERITIES[top]!, counts, total: findings.length, fixable, ids: [...new Set(findings.map((f) => f.id))], idsBySeverity };
}
