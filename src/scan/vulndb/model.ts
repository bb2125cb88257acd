// The one model every vulnerability feed is normalised to (OSV's shape, which Debian's security
// tracker and Alpine's secdb translate into): a vulnerability with its aliases, texts, severity
// and links, affecting packages of an ecosystem in ranges of versions or listed versions.
import type { Severity } from '../inventory.js';

/** One OSV range event: exactly one key set (OSV schema §affected[].ranges[].events). */
export type RangeEvent = { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface AffectedRange {
  /** SEMVER and ECOSYSTEM ranges are evaluated; GIT ranges (commits) cannot be, and are kept only. */
  type: 'SEMVER' | 'ECOSYSTEM' | 'GIT';
  events: RangeEvent[];
}

export interface Affected {
  /** OSV's ecosystem string, with its release normalised (`Debian:12`, `Alpine:v3.19`, `npm`). */
  ecosystem: string;
  /** The package: a source package for Debian, Ubuntu and Alpine. */
  package: string;
  ranges: AffectedRange[];
  /** Versions listed as affected, besides the ranges. */
  versions: string[];
  /** A severity for this package only (Debian's urgency per release, Ubuntu's priority). */
  severity?: Severity;
}

export interface VulnRecord {
  /** The feed it came from: `osv`, `debian`, `alpine:v3.19/main`; (source, key) identifies a record. */
  source: string;
  /** Unique in the source: the id, or for Debian's tracker `<id> <package>` (it lists a CVE per package). */
  key: string;
  /** The vulnerability's id as reports show it (CVE-…, GHSA-…, DEBIAN-CVE-…). */
  id: string;
  /** The record's own modification time (OSV), or the time it was first seen (feeds without one). */
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases: string[];
  summary?: string;
  details?: string;
  /** From the CVSS v3 vector's score, else the feed's own word; undefined when the record has none. */
  severity?: Severity;
  cvss?: { scoreV3?: number; vectorV3?: string };
  links: string[];
  affected: Affected[];
}

/** A normalised release in an ecosystem string: `Alpine:v3.19.1` -> `Alpine:v3.19`, `Debian:12.5` -> `Debian:12`. */
export function normalizeEcosystem(ecosystem: string): string {
  const alpine = /^Alpine:v?(\d+\.\d+)/.exec(ecosystem);
  if (alpine) return `Alpine:v${alpine[1]}`;
  const debian = /^Debian:(\d+)/.exec(ecosystem);
  if (debian) return `Debian:${debian[1]}`;
  return ecosystem;
}
