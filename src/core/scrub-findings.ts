// What a scrub finds (core/scrub.ts): the kinds of findings, and for each what it means for the
// users of the registry and what repair does or did, with the push that heals the image.
import type { ImageRef } from '../metadata/scrub-queries.js';

export const FINDING_KINDS = ['corrupt-blob', 'missing-blob', 'broken-reference', 'corrupt-manifest', 'orphan-blob'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface ScrubFinding {
  kind: FindingKind;
  /** The blob (or, for corrupt-manifest, the manifest) the finding is about. */
  digest: string;
  /** broken-reference, corrupt-manifest: where. */
  repository?: string;
  manifest?: string;
  /** What was seen ("hashes to sha256:..."). */
  detail: string;
  /** What it means for users of the registry. */
  meaning: string;
  /** What repair does, or (when it ran) did. */
  repair: string;
  /** Whether this run repaired it. */
  repaired: boolean;
  /** Images it breaks (at most 20). */
  images?: ImageRef[];
}

type Advice = { meaning: string; repair: (f: FindingFacts) => string; repaired: (f: FindingFacts) => string };
export type FindingFacts = Omit<ScrubFinding, 'meaning' | 'repair'>;

/** How to push an image of a finding again, as a command to adapt ("SOURCE" is where it came from). */
function repushCommand(f: FindingFacts): string {
  const image = f.images?.[0];
  if (!image) return 'push the images that use it again';
  const ref = image.tags[0] !== undefined ? `:${image.tags[0]}` : `@${image.manifest}`;
  return `push the image again, e.g. skopeo copy docker://SOURCE/${image.repository}${ref} docker://REGISTRY/${image.repository}${ref} (or docker push REGISTRY/${image.repository}${ref}), which uploads what the registry lacks`;
}

/** The advice of each kind: what it means, what repair does and did. */
const ADVICE: Record<FindingKind, Advice> = {
  'corrupt-blob': {
    meaning: 'the stored bytes no longer hash to the digest (bit rot, a disk or copy fault): every pull of the images below fails its digest check',
    repair: (f) =>
      `repair deletes the bad bytes and unlinks the blob from its repositories, so the next push of this layer uploads it again (left linked, a client asks HEAD, hears "exists" and never re-sends it); then ${repushCommand(f)}`,
    repaired: (f) => `the bad bytes were deleted and the blob unlinked from its repositories: ${repushCommand(f)}`,
  },
  'missing-blob': {
    meaning: 'the metadata says repositories hold this blob, but the storage has no bytes for it (or bytes of another size): pulls of the images below fail',
    repair: (f) => `repair unlinks the blob from its repositories (and deletes bytes of the wrong size), so the next push of this layer uploads it again; then ${repushCommand(f)}`,
    repaired: (f) => `the blob was unlinked from its repositories: ${repushCommand(f)}`,
  },
  'broken-reference': {
    meaning: 'the manifest references a blob or manifest its repository does not hold: the image cannot be pulled',
    repair: (f) => `repair only reports this (a manifest is never deleted on its own): ${repushCommand(f)}; or delete the manifest if nobody needs it`,
    repaired: (f) => `not repaired (a manifest is never deleted on its own): ${repushCommand(f)}; or delete the manifest if nobody needs it`,
  },
  'corrupt-manifest': {
    meaning: 'the stored manifest bytes no longer hash to its digest: pulls by digest fail verification',
    repair: (f) => `repair only reports this: delete the manifest (minato artifact delete ${f.repository}@${f.manifest}) and push the image again`,
    repaired: (f) => `not repaired: delete the manifest (minato artifact delete ${f.repository}@${f.manifest}) and push the image again`,
  },
  'orphan-blob': {
    meaning: 'bytes in storage that no metadata knows: wasted space, no image uses them',
    repair: () => 'repair deletes them, after checking once more that no metadata claims them',
    repaired: () => 'deleted',
  },
};

/** A finding's advice: its meaning, and what repair does (or, repaired, did). */
export function adviceFor(f: FindingFacts): { meaning: string; repair: string } {
  const advice = ADVICE[f.kind];
  return { meaning: advice.meaning, repair: f.repaired ? advice.repaired(f) : advice.repair(f) };
}
