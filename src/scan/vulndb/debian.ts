// Debian's security tracker JSON (security-tracker.debian.org/tracker/data/json) into the model.
// It is one object keyed by source package, each a map of CVE (or TEMP-) ids to
// `{description, releases: {<codename>: {status, fixed_version?, urgency}}}`; read one package at
// a time (json-members.ts). Per release: `resolved` with fixed_version "0" means never affected,
// `resolved` with a version is fixed there, `open` is affected with no fix yet, `undetermined` is
// skipped (as anchore/vunnel does). The urgency is the severity (low/medium/high; unimportant and
// end-of-life are Negligible; "not yet assigned" is Unknown).
import type { Severity } from '../inventory.js';
import { severityOfWord } from './cvss.js';
import { topLevelMembers } from './json-members.js';
import type { Affected, VulnRecord } from './model.js';

/** Debian codenames and their release numbers (sid/unstable has no OSV ecosystem and is skipped). */
export const DEBIAN_RELEASES: Record<string, string> = { jessie: '8', stretch: '9', buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14' };

interface TrackerRelease {
  status?: string;
  fixed_version?: string;
  urgency?: string;
}
interface TrackerEntry {
  description?: string;
  releases?: Record<string, TrackerRelease>;
}

/** The records of one source package's entry. */
export function debianRecords(pkg: string, entries: unknown, importedAt: string): VulnRecord[] {
  if (typeof entries !== 'object' || entries === null) return [];
  const out: VulnRecord[] = [];
  for (const [id, raw] of Object.entries(entries as Record<string, TrackerEntry>)) {
    if (typeof raw !== 'object' || raw === null) continue;
    const affected: Affected[] = [];
    for (const [codename, rel] of Object.entries(raw.releases ?? {})) {
      const number = DEBIAN_RELEASES[codename];
      if (!number || typeof rel !== 'object' || rel === null) continue;
      const severity: Severity = severityOfWord(rel.urgency) ?? 'Unknown';
      const base = { ecosystem: `Debian:${number}`, package: pkg, versions: [], severity };
      if (rel.status === 'resolved' && typeof rel.fixed_version === 'string' && rel.fixed_version !== '0') {
        affected.push({ ...base, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: rel.fixed_version }] }] });
      } else if (rel.status === 'open') {
        affected.push({ ...base, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] });
      }
    }
    if (affected.length === 0) continue;
    out.push({
      source: 'debian',
      // One record per (CVE, source package): the tracker lists a CVE under each package it affects.
      key: `${id} ${pkg}`,
      id,
      modified: importedAt,
      aliases: [],
      summary: raw.description,
      links: [`https://security-tracker.debian.org/tracker/${id}`],
      affected,
    });
  }
  return out;
}

/** Every record of a tracker export, one package at a time. */
export async function* readDebianTracker(text: AsyncIterable<string>, importedAt: string): AsyncGenerator<VulnRecord> {
  for await (const [pkg, entries] of topLevelMembers(text)) yield* debianRecords(pkg, entries, importedAt);
}
