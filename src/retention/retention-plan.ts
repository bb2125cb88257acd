// What a retention run keeps and deletes in one repository: Harbor's algorithm (harbor-layer.md
// §1.7) with minato's guards. Pure: the caller loads the repository's manifests and applies the
// plan (retention/retention-job.ts); a dry run shows exactly this plan.
//
// Harbor's part. The candidates are artifacts: a digest with all its tags. Each enabled rule
// whose scope selectors select the repository selects candidates (tag selectors) and keeps some
// (its template); the rules' kept sets are OR-combined; every candidate no rule keeps is
// deleted, as a whole artifact (kept if any rule keeps it, whatever its other tags), except one
// that carries an immutable tag. A repository no rule's scope selects is left alone.
//
// Guards beyond Harbor, applied until nothing changes:
//  - what a kept manifest references stays: the children of a kept index, and the `subject` of a
//    kept referrer;
//  - signatures, attestations and SBOMs follow their subject: referrers (a manifest whose subject
//    is in the repository) and cosign's tag-discovered `sha256-<hex>.sig|.att|.sbom` manifests
//    are not candidates themselves; they stay while their subject stays, and go with it;
//  - the children of a deleted index go with it, unless something kept references them (they are
//    not candidates either, unless tagged).
import type { Aged, RetentionRule } from './retention-policy.js';
import { describeRetentionRule, templateKeeps } from './retention-policy.js';
import { pathInProject, scopeSelects, tagSelectorsSelect } from '../policy/tag-selectors.js';

export interface ManifestFacts extends Aged {
  mediaType: string;
  tags: string[];
  /** The manifest's subject (OCI 1.1 referrers), if any. */
  subject: string | null;
  /** Manifests of the repository it references (an index's children). */
  children: string[];
}

export type RetentionAction = 'RETAIN' | 'DEL';

export interface PlanItem {
  digest: string;
  tags: string[];
  mediaType: string;
  pushedAt: number;
  pulledAt: number | null;
  createdAt: number;
  action: RetentionAction;
  /** Why: the rule that keeps it, the guard, or what deletes it. */
  reason: string;
}

/** cosign's tag for signatures, attestations and SBOMs of sha256:<hex>. */
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;

export interface PlanInput {
  repository: string;
  manifests: readonly ManifestFacts[];
  rules: readonly RetentionRule[];
  /** Whether a tag of this repository is immutable (policy/immutability.ts). */
  immutable(tag: string): boolean;
  now: number;
}

/**
 * The plan for one repository, in deletion order (what follows a subject or an index before
 * it, children after it); undefined when no enabled rule's scope selects the repository.
 */
export function planRepository(input: PlanInput): PlanItem[] | undefined {
  const path = pathInProject(input.repository);
  const rules = input.rules.map((rule, i) => ({ rule, n: i + 1 })).filter(({ rule }) => !rule.disabled && scopeSelects(rule.scope_selectors.repository, path));
  if (rules.length === 0) return undefined;

  const byDigest = new Map(input.manifests.map((m) => [m.digest, m]));
  /** What an accessory belongs to (a referrer's subject, a cosign tag's digest), when it is in the repository. */
  const ownerOf = (m: ManifestFacts): string | undefined => {
    if (m.subject !== null && byDigest.has(m.subject)) return m.subject;
    if (m.tags.length === 0) return undefined;
    const owners = m.tags.map((t) => COSIGN_TAG.exec(t)?.[1]);
    if (owners.some((o) => o === undefined) || new Set(owners).size !== 1) return undefined;
    const owner = `sha256:${owners[0]}`;
    return byDigest.has(owner) ? owner : undefined;
  };
  const referenced = new Set(input.manifests.flatMap((m) => m.children));
  const owners = new Map<string, string>();
  for (const m of input.manifests) {
    const owner = ownerOf(m);
    if (owner !== undefined && owner !== m.digest) owners.set(m.digest, owner);
  }
  const candidates = input.manifests.filter((m) => !owners.has(m.digest) && !(referenced.has(m.digest) && m.tags.length === 0));

  // Harbor: OR over the rules of what each keeps of what it selects.
  const kept = new Map<string, string>();
  for (const { rule, n } of rules) {
    const selected = candidates.filter((c) => tagSelectorsSelect(rule.tag_selectors, c.tags));
    for (const c of templateKeeps(rule, selected, input.now)) if (!kept.has(c.digest)) kept.set(c.digest, `rule ${n}: ${describeRetentionRule(rule)}`);
  }
  for (const m of input.manifests) {
    const tag = m.tags.find((t) => input.immutable(t));
    if (tag !== undefined && !kept.has(m.digest)) kept.set(m.digest, `immutable tag ${tag}`);
  }

  // The guards, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    const keep = (digest: string, reason: string) => {
      if (kept.has(digest) || !byDigest.has(digest)) return;
      kept.set(digest, reason);
      changed = true;
    };
    for (const [digest] of [...kept]) {
      const m = byDigest.get(digest)!;
      for (const child of m.children) keep(child, `referenced by the kept index ${digest}`);
      const owner = owners.get(digest) ?? (m.subject !== null ? m.subject : undefined);
      if (owner !== undefined) keep(owner, `the subject of the kept ${digest}`);
    }
    for (const [digest, owner] of owners) if (kept.has(owner)) keep(digest, `a signature, attestation or SBOM of the kept ${owner}`);
  }

  const item = (m: ManifestFacts, why: string): PlanItem => ({
    digest: m.digest,
    tags: m.tags,
    mediaType: m.mediaType,
    pushedAt: m.pushedAt,
    pulledAt: m.pulledAt,
    createdAt: m.createdAt,
    action: kept.has(m.digest) ? 'RETAIN' : 'DEL',
    reason: kept.get(m.digest) ?? why,
  });
  const isCandidate = new Set(candidates.map((c) => c.digest));
  const accessories = input.manifests.filter((m) => owners.has(m.digest)).map((m) => item(m, `its subject ${owners.get(m.digest)} is deleted`));
  const artifacts = candidates.map((m) => item(m, 'no rule keeps it'));
  const children = input.manifests.filter((m) => !owners.has(m.digest) && !isCandidate.has(m.digest)).map((m) => item(m, 'its index is deleted'));
  return [...accessories, ...artifacts, ...children];
}
