// OSV records (ossf/osv-schema docs/schema.md) into the model: validated with zod (a feed is
// input from outside), severity from the CVSS v3 vector's score, else the database's word (GHSA's
// `database_specific.severity`, Debian's `ecosystem_specific.urgency`, Ubuntu's `severity[{type: Ubuntu}]`). Unknown fields are ignored,
// as the schema asks of readers.
import { z } from 'zod';
import type { Severity } from '../inventory.js';
import { cvss3BaseScore, severityOfScore, severityOfWord } from './cvss.js';
import { normalizeEcosystem, type Affected, type AffectedRange, type RangeEvent, type VulnRecord } from './model.js';

const event = z.union([
  z.object({ introduced: z.string() }),
  z.object({ fixed: z.string() }),
  z.object({ last_affected: z.string() }),
  z.object({ limit: z.string() }),
]);

const severityEntry = z.object({ type: z.string(), score: z.string() });
const looseObject = z.record(z.string(), z.unknown());

const osvSchema = z.object({
  id: z.string().min(1),
  modified: z.string().min(1),
  published: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).nullish(),
  upstream: z.array(z.string()).nullish(),
  summary: z.string().optional(),
  details: z.string().optional(),
  severity: z.array(severityEntry).nullish(),
  affected: z
    .array(
      z.object({
        package: z.object({ ecosystem: z.string(), name: z.string() }).optional(),
        severity: z.array(severityEntry).nullish(),
        ranges: z.array(z.object({ type: z.enum(['SEMVER', 'ECOSYSTEM', 'GIT']), events: z.array(event) })).nullish(),
        versions: z.array(z.string()).nullish(),
        ecosystem_specific: looseObject.nullish(),
        database_specific: looseObject.nullish(),
      }),
    )
    .nullish(),
  references: z.array(z.object({ type: z.string().optional(), url: z.string() })).nullish(),
  database_specific: looseObject.nullish(),
});

/** The v3 vector of a record's severity list, with its score. */
function cvssOf(list: ReadonlyArray<{ type: string; score: string }> | null | undefined): { scoreV3: number; vectorV3: string } | undefined {
  for (const s of list ?? []) {
    if (s.type !== 'CVSS_V3') continue;
    const score = cvss3BaseScore(s.score);
    if (score !== undefined) return { scoreV3: score, vectorV3: s.score };
  }
  return undefined;
}

function wordOf(list: ReadonlyArray<{ type: string; score: string }> | null | undefined, specific?: Record<string, unknown> | null): Severity | undefined {
  for (const s of list ?? []) if (s.type === 'Ubuntu') return severityOfWord(s.score);
  // GHSA: database_specific.severity; Debian: ecosystem_specific.urgency.
  const word = specific?.severity ?? specific?.urgency;
  return typeof word === 'string' ? severityOfWord(word) : undefined;
}

/** A parsed OSV record, or an Error saying what is wrong with it. */
export function parseOsv(input: unknown, source = 'osv'): VulnRecord | Error {
  const parsed = osvSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const id = typeof (input as { id?: unknown } | null)?.id === 'string' ? ` ${(input as { id: string }).id}` : '';
    return new Error(`not an OSV record${id}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`);
  }
  const r = parsed.data;
  const cvss = cvssOf(r.severity);
  const affected: Affected[] = [];
  for (const a of r.affected ?? []) {
    if (!a.package) continue; // a GIT-only entry names a repository, not a package
    const ranges: AffectedRange[] = (a.ranges ?? []).map((x) => ({ type: x.type, events: x.events as RangeEvent[] }));
    const own = cvssOf(a.severity);
    affected.push({
      ecosystem: normalizeEcosystem(a.package.ecosystem),
      package: a.package.name,
      ranges,
      versions: a.versions ?? [],
      severity: own ? severityOfScore(own.scoreV3) : wordOf(a.severity, a.ecosystem_specific ?? a.database_specific),
    });
  }
  return {
    source,
    key: r.id,
    id: r.id,
    modified: r.modified,
    published: r.published,
    withdrawn: r.withdrawn,
    aliases: [...new Set([...(r.aliases ?? []), ...(r.upstream ?? [])])].filter((a) => a !== r.id),
    summary: r.summary,
    details: r.details,
    severity: cvss ? severityOfScore(cvss.scoreV3) : wordOf(r.severity, r.database_specific),
    cvss,
    links: (r.references ?? []).map((x) => x.url),
    affected,
  };
}
