// Which vulnerabilities affect which packages of an inventory: OSV's evaluation algorithm
// (osv-schema docs/schema.md, "Evaluation"): a version is affected when it is listed in
// `versions`, or when a SEMVER or ECOSYSTEM range's events, sorted by version, leave it between
// an `introduced` and the next `fixed` (or at most `last_affected`) and below every `limit`.
// Versions compare with the ecosystem's own order (versions/). Distro advisories name source
// packages (Debian, Ubuntu, Alpine's origin), so a package matches by its source name with its
// source version, as well as by its own name.
//
// Pure: the records come from the caller (VulnDb.affecting), so re-matching a stored inventory
// after an import needs no layers.
import { SEVERITIES, type Finding, type Inventory, type InventoryPackage, type Severity } from './inventory.js';
import { compare, schemeOf } from './versions/index.js';
import { normalizeEcosystem, type AffectedRange, type RangeEvent } from './vulndb/model.js';
import type { AffectedRecord } from './vulndb/store.js';

type Compare = (a: string, b: string) => number;

/** An event's version: introduced "0" sorts before every version, limit "*" after. */
function eventVersion(e: RangeEvent): string {
  return 'introduced' in e ? e.introduced : 'fixed' in e ? e.fixed : 'last_affected' in e ? e.last_affected : e.limit;
}

function sortedEvents(events: readonly RangeEvent[], cmp: Compare): RangeEvent[] {
  const rank = (e: RangeEvent) => ('introduced' in e && e.introduced === '0' ? -1 : 'limit' in e && e.limit === '*' ? 1 : 0);
  return [...events].sort((a, b) => rank(a) - rank(b) || (rank(a) !== 0 ? 0 : cmp(eventVersion(a), eventVersion(b))));
}

/** Whether `v` is inside one range (the schema's IncludedInRange and BeforeLimits). */
export function inRange(v: string, range: AffectedRange, cmp: Compare): boolean {
  const limits = range.events.filter((e): e is { limit: string } => 'limit' in e);
  if (limits.length > 0 && !limits.some((l) => l.limit === '*' || cmp(v, l.limit) < 0)) return false;
  let affected = false;
  for (const e of sortedEvents(range.events, cmp)) {
    if ('introduced' in e && (e.introduced === '0' || cmp(v, e.introduced) >= 0)) affected = true;
    else if ('fixed' in e && cmp(v, e.fixed) >= 0) affected = false;
    else if ('last_affected' in e && cmp(v, e.last_affected) > 0) affected = false;
  }
  return affected;
}

/** The comparator of a range: SEMVER ranges are semantic versions in any ecosystem. */
function comparatorFor(type: AffectedRange['type'], ecosystem: string): Compare {
  const scheme = type === 'SEMVER' ? 'semver' : schemeOf(ecosystem);
  return (a, b) => compare(scheme, a, b);
}

/** Whether an advisory for `recordEcosystem` applies to a package of `packageEcosystem`. */
function sameEcosystem(packageEcosystem: string, recordEcosystem: string): boolean {
  const p = normalizeEcosystem(packageEcosystem);
  // A record without a release (`Debian`, `Alpine`) applies to every release.
  return p === recordEcosystem || (!recordEcosystem.includes(':') && p.split(':')[0] === recordEcosystem);
}

/** The id a report shows: the CVE when the record republishes one (DEBIAN-CVE-…, ALPINE-CVE-…, DSA-… with a CVE alias). */
export function displayId(id: string, aliases: readonly string[]): string {
  if (id.startsWith('CVE-') || id.startsWith('GHSA-')) return id;
  return aliases.find((a) => a.startsWith('CVE-')) ?? id;
}

const rankOf = (s: Severity) => SEVERITIES.indexOf(s);
const MAX_DESCRIPTION = 4096;

/** The finding of one record for one package, or undefined when the package's version is not affected. */
function evaluate(pkg: InventoryPackage, r: AffectedRecord): Finding | undefined {
  const a = r.affected;
  if (!sameEcosystem(pkg.ecosystem, a.ecosystem)) return undefined;
  // Matched by source name: the advisory's versions are source versions.
  const bySource = pkg.source !== undefined && a.package === pkg.source.name && a.package !== pkg.name;
  if (!bySource && a.package !== pkg.name) return undefined;
  const v = bySource ? pkg.source!.version : pkg.version;
  let affected = a.versions.includes(v);
  const fixes: string[] = [];
  let cmpOfFixes: Compare | undefined;
  for (const range of a.ranges) {
    if (range.type === 'GIT') continue; // commits: nothing to compare an installed version with
    const cmp = comparatorFor(range.type, a.ecosystem);
    if (inRange(v, range, cmp)) {
      affected = true;
      cmpOfFixes = cmp;
      for (const e of range.events) if ('fixed' in e && cmp(e.fixed, v) > 0) fixes.push(e.fixed);
    }
  }
  if (!affected) return undefined;
  const fixVersion = cmpOfFixes && fixes.length > 0 ? fixes.sort(cmpOfFixes)[0] : undefined;
  const severity: Severity = a.severity && a.severity !== 'Unknown' ? a.severity : (r.severity ?? a.severity ?? 'Unknown');
  const id = displayId(r.id, r.aliases);
  const description = r.summary ?? r.details;
  return {
    id,
    aliases: [...new Set([r.id, ...r.aliases])].filter((x) => x !== id),
    package: pkg.name,
    version: pkg.version,
    ...(fixVersion ? { fixVersion } : {}),
    severity,
    ...(description ? { description: description.length > MAX_DESCRIPTION ? `${description.slice(0, MAX_DESCRIPTION)}…` : description } : {}),
    links: r.links,
    layerDigest: pkg.layerDigest,
    ...(r.cvss ? { cvss: r.cvss } : {}),
  };
}

/** Two findings of one vulnerability in one package (two feeds, or an advisory and its CVE): one. */
function merge(a: Finding, b: Finding): Finding {
  return {
    ...a,
    severity: rankOf(b.severity) > rankOf(a.severity) ? b.severity : a.severity,
    fixVersion: a.fixVersion ?? b.fixVersion,
    aliases: [...new Set([...a.aliases, ...b.aliases])].filter((x) => x !== a.id),
    links: [...new Set([...a.links, ...b.links])],
    description: a.description ?? b.description,
    cvss: a.cvss ?? b.cvss,
  };
}

/** The names to look records up by: each package's name and its source name. */
export function lookupNames(inventory: Inventory): string[] {
  return [...new Set(inventory.packages.flatMap((p) => (p.source ? [p.name, p.source.name] : [p.name])))];
}

/** The findings of an inventory against records (those `lookupNames` found), most severe first. */
export function matchInventory(inventory: Inventory, records: readonly AffectedRecord[]): Finding[] {
  const byName = new Map<string, AffectedRecord[]>();
  for (const r of records) {
    const list = byName.get(r.affected.package) ?? [];
    list.push(r);
    byName.set(r.affected.package, list);
  }
  const found = new Map<string, Finding>();
  for (const pkg of inventory.packages) {
    const candidates = new Set([...(byName.get(pkg.name) ?? []), ...(pkg.source ? (byName.get(pkg.source.name) ?? []) : [])]);
    for (const r of candidates) {
      const f = evaluate(pkg, r);
      if (!f) continue;
      const key = `${f.id}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.path}`;
      const old = found.get(key);
      found.set(key, old ? merge(old, f) : f);
    }
  }
  return [...found.values()].sort((x, y) => rankOf(y.severity) - rankOf(x.severity) || x.id.localeCompare(y.id) || x.package.localeCompare(y.package));
}
