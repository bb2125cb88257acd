// Which signatures a manifest has and whether they verify under its project's trust policy, with
// the caches that keep this off a hot pull's path:
//  - a verification result per (project, subject digest, signature digest, policy version): a
//    signature is verified once per policy version, whatever else changes;
//  - an evaluation per (repository, digest): the signatures found for it and for the indexes
//    over it, with their results, for the policy version it was made under. A hit is a sync Map
//    lookup, so the pull decider returns without a promise.
// Evaluations of a repository are dropped when a signature there may have appeared or gone (a
// manifest with a subject, a cosign tag, a delete: `invalidate`, called at push time by this
// process and from the outbox for every process), and those of a project when its material
// changes. A pull racing a signature's push may cache "unsigned" just before it commits: the
// outbox's invalidation corrects that within the dispatcher's poll interval.
//
// An index's valid signature covers its children (pulled by digest, as runtimes do): the
// parents are found through the manifest references. Signatures, attestations and SBOMs (a
// manifest with a subject and such an artifact type, or a `sha256-….sig|.att|.sbom` tag) are
// exempt: clients must fetch them to verify anything.
import type { Logger } from 'pino';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import type { FoundSignature, SignatureFormat, SignatureSource, SignatureVerifier, VerificationResult } from './signatures.js';
import { COSIGN_TAG, SIGNATURE_ARTIFACT_TYPES } from './signature-sources.js';
import type { EffectivePolicy } from './trust-policies.js';

/** Artifact types of accessories that are pulled to verify or inspect a subject, never gated. */
export const ACCESSORY_TYPES: ReadonlySet<string> = new Set([
  ...SIGNATURE_ARTIFACT_TYPES,
  'application/vnd.in-toto+json',
  'application/vnd.dsse.envelope.v1+json',
  'application/vnd.goharbor.harbor.sbom.v1',
  'application/spdx+json',
  'application/vnd.cyclonedx+json',
]);

export interface CheckedSignature {
  format: SignatureFormat;
  digest: string;
  location: string;
  result: VerificationResult;
  /** Set when the signature is an index's over this manifest: the index's digest. */
  via?: string;
}

export interface Evaluation {
  /** Why the manifest is not gated at all (it is a signature or an attestation), if so. */
  exempt?: string;
  signatures: CheckedSignature[];
}

export interface SignatureChecksDeps {
  source: SignatureSource;
  verifiers: readonly SignatureVerifier[];
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  parentsOf(repository: string, digest: string): Promise<string[]>;
  tagsOf(repository: string, digest: string): Promise<string[]>;
  log: Logger;
  /** Evaluations kept (whole repositories are dropped past it, oldest first). */
  maxEntries?: number;
}

interface Entry {
  policyKey: string;
  evaluation: Evaluation;
  /** When this process last recorded a warn/audit event for it (ms), to record one per interval. */
  noticedAt?: number;
}

const policyKey = (p: EffectivePolicy) => `${p.projectId}:${p.material.version}`;

export class SignatureChecks {
  private readonly evaluations = new Map<string, Map<string, Entry>>();
  private readonly results = new Map<string, VerificationResult>();
  private readonly inflight = new Map<string, Promise<Evaluation>>();
  private readonly verifiers = new Map<SignatureFormat, SignatureVerifier>();
  private entries = 0;

  constructor(private readonly deps: SignatureChecksDeps) {
    for (const v of deps.verifiers) for (const f of v.formats) this.verifiers.set(f, v);
  }

  /** The cached evaluation, if it was made under this policy version. Sync. */
  cached(repository: string, digest: string, policy: EffectivePolicy): Entry | undefined {
    const entry = this.evaluations.get(repository)?.get(digest);
    return entry && entry.policyKey === policyKey(policy) ? entry : undefined;
  }

  /** Finds and verifies the manifest's signatures (and its indexes'); cached. Concurrent calls share one evaluation. */
  evaluate(repository: string, digest: string, policy: EffectivePolicy): Promise<Evaluation> {
    const key = `${repository}\n${digest}\n${policyKey(policy)}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      // An invalidation while this runs must win over its result: compare generations.
      const generation = this.generation(repository);
      pending = this.compute(repository, digest, policy)
        .then((evaluation) => {
          if (this.generation(repository) === generation) this.store(repository, digest, { policyKey: policyKey(policy), evaluation });
          return evaluation;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** A signature may have appeared or gone in this repository: its evaluations are stale. */
  invalidate(repository: string): void {
    const map = this.evaluations.get(repository);
    if (map) {
      this.entries -= map.size;
      this.evaluations.delete(repository);
    }
    this.generations.set(repository, this.generation(repository) + 1);
  }

  /** A project's material changed (or the project went): its verification results are stale. */
  dropProject(project: string): void {
    for (const repository of [...this.evaluations.keys()]) if (repository === project || repository.startsWith(`${project}/`)) this.invalidate(repository);
    for (const key of [...this.results.keys()]) if (key.startsWith(`${project}\n`)) this.results.delete(key);
  }

  private readonly generations = new Map<string, number>();
  private generation(repository: string): number {
    return this.generations.get(repository) ?? 0;
  }

  private store(repository: string, digest: string, entry: Entry): void {
    const max = this.deps.maxEntries ?? 50_000;
    if (this.entries >= max) {
      const oldest = this.evaluations.keys().next().value;
      if (oldest !== undefined) this.invalidate(oldest);
    }
    let map = this.evaluations.get(repository);
    if (!map) this.evaluations.set(repository, (map = new Map()));
    if (!map.has(digest)) this.entries++;
    map.set(digest, entry);
  }

  private async compute(repository: string, digest: string, policy: EffectivePolicy): Promise<Evaluation> {
    const record = await this.deps.getManifest(repository, digest);
    if (record?.subject && record.artifactType && ACCESSORY_TYPES.has(record.artifactType)) return { exempt: `an accessory (${record.artifactType}) of ${record.subject}`, signatures: [] };
    const cosignTag = (await this.deps.tagsOf(repository, digest)).find((t) => COSIGN_TAG.test(t));
    if (cosignTag) return { exempt: `tagged ${cosignTag}`, signatures: [] };
    const signatures = await this.check(repository, digest, policy);
    for (const parent of await this.deps.parentsOf(repository, digest)) {
      for (const s of await this.check(repository, parent, policy)) signatures.push({ ...s, via: parent });
    }
    return { signatures };
  }

  private async check(repository: string, subject: string, policy: EffectivePolicy): Promise<CheckedSignature[]> {
    const found = await this.deps.source.list(repository, subject);
    return Promise.all(found.map(async (f) => ({ format: f.format, digest: f.digest, location: f.location, result: await this.verifyOne(policy, f) })));
  }

  private async verifyOne(policy: EffectivePolicy, found: FoundSignature): Promise<VerificationResult> {
    const key = `${policy.project}\n${found.subject}\n${found.digest}\n${policy.material.version}`;
    const known = this.results.get(key);
    if (known) return known;
    const verifier = this.verifiers.get(found.format);
    let result: VerificationResult;
    if (!verifier) {
      result = { format: found.format, signatureDigest: found.digest, verified: false, reason: `${found.format} signatures are not verified by this server` };
    } else {
      try {
        result = await verifier.verify(found, await found.load(), found.subject, policy.material);
      } catch (err) {
        // A signature whose bytes cannot be read is not valid; it is not an error of the pull.
        this.deps.log.warn({ digest: found.digest, subject: found.subject, err: (err as Error).message }, 'could not read a signature; it counts as invalid');
        result = { format: found.format, signatureDigest: found.digest, verified: false, reason: `unreadable: ${(err as Error).message}`.slice(0, 300) };
      }
    }
    if (this.results.size >= (this.deps.maxEntries ?? 50_000)) this.results.clear();
    this.results.set(key, result);
    return result;
  }
}

/** Whether an evaluation meets every requirement of the policy; if not, what a person is told. */
export function judge(policy: EffectivePolicy, evaluation: Evaluation): { satisfied: true } | { satisfied: false; message: string } {
  if (evaluation.exempt) return { satisfied: true };
  for (const req of policy.requirements) {
    if (evaluation.signatures.some((s) => s.result.verified && req.formats.has(s.format))) continue;
    const n = evaluation.signatures.length;
    const found =
      n === 0
        ? 'no signature found'
        : `${n} signature${n === 1 ? '' : 's'} found, ` +
          evaluation.signatures
            .slice(0, 5)
            .map((s) => `${s.format}${s.result.signer ? ` by key '${s.result.signer}'` : ''}${s.via ? ` on index ${s.via}` : ''} — ${s.result.verified ? `valid, but not ${req.what}` : s.result.reason}`)
            .join('; ');
    return { satisfied: false, message: `policy of project ${policy.project} requires ${req.what === 'a signature' ? 'a valid signature' : `a valid ${req.what.slice(2)}`}: ${found}` };
  }
  return { satisfied: true };
}
