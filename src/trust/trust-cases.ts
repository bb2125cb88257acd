// A project's trust policy and an artifact's signatures as use cases, for the management API and
// the CLI: read and replace the policy, add and remove one public key, list an artifact's
// accessories (Harbor's shape) and its signatures with what each verifies to under the policy.
// Material is checked (trust-material.ts) before it is stored; every change bumps the version.
import type { ProjectRecord } from '../auth/access-store.js';
import type { Actor } from '../events/events.js';
import { alreadyExists, notFound } from '../util/domain-error.js';
import { judge, type CheckedSignature, type SignatureChecks } from './signature-checks.js';
import { COSIGN_SIGNATURE_TYPE, cosignSignatureTag, NOTATION_SIGNATURE_TYPE, SIGSTORE_BUNDLE_TYPE } from './signature-sources.js';
import { checkMaterial } from './trust-material.js';
import type { EffectivePolicy, TrustPolicies } from './trust-policies.js';
import type { StoredMaterial, StoredTrustPolicy, TrustLevel, TrustPolicyStore } from './trust-policy-store.js';

export interface TrustPolicyView extends StoredTrustPolicy {
  /** What pulls are held to: the level, raised to enforce by Harbor's enable_content_trust* metadata. */
  effectiveLevel: TrustLevel;
  requirements: string[];
}

export interface AccessoryView {
  digest: string;
  /** Harbor's accessory type: signature.cosign, signature.notation, sbom.harbor, subject.accessory. */
  type: string;
  subject: string;
}

export interface SignaturesView {
  level: TrustLevel;
  version: number;
  /** Whether a pull meets the policy now (true when the level is off). */
  satisfied: boolean;
  /** Why not, when not. */
  message?: string;
  exempt?: string;
  signatures: CheckedSignature[];
}

export interface TrustCasesDeps {
  store: TrustPolicyStore;
  policies: TrustPolicies;
  checks: SignatureChecks;
  /** Referrers of a manifest (any artifact type), and the manifest a tag names. */
  listReferrers(repository: string, subject: string): Promise<Array<{ digest: string; artifactType?: string }>>;
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
}

/** Harbor's accessory type of a referrer's artifact type (harbor-layer.md §1.13). */
export function accessoryType(artifactType: string | undefined): string {
  if (artifactType === COSIGN_SIGNATURE_TYPE || artifactType === SIGSTORE_BUNDLE_TYPE) return 'signature.cosign';
  if (artifactType === NOTATION_SIGNATURE_TYPE) return 'signature.notation';
  if (artifactType === 'application/vnd.goharbor.harbor.sbom.v1') return 'sbom.harbor';
  return 'subject.accessory';
}

export class TrustCases {
  constructor(private readonly deps: TrustCasesDeps) {}

  async view(project: ProjectRecord): Promise<TrustPolicyView> {
    const stored = await this.deps.store.get(project.id);
    const effective = this.deps.policies.of(project.name);
    return { ...stored, effectiveLevel: effective.level, requirements: effective.requirements.map((r) => r.what) };
  }

  async set(project: ProjectRecord, level: TrustLevel, material: StoredMaterial, actor: Actor): Promise<TrustPolicyView> {
    checkMaterial(project.name, material);
    await this.deps.store.update(project, () => ({ level, material }), actor);
    return this.view(project);
  }

  async addKey(project: ProjectRecord, key: { name: string; pem: string }, actor: Actor): Promise<TrustPolicyView> {
    await this.deps.store.update(
      project,
      (current) => {
        if (current.material.publicKeys.some((k) => k.name === key.name)) throw alreadyExists(`the trust policy of project ${project.name} already has a key named "${key.name}": remove it first, or choose another name`);
        const material = { ...current.material, publicKeys: [...current.material.publicKeys, key] };
        checkMaterial(project.name, material);
        return { level: current.level, material };
      },
      actor,
    );
    return this.view(project);
  }

  async removeKey(project: ProjectRecord, name: string, actor: Actor): Promise<TrustPolicyView> {
    await this.deps.store.update(
      project,
      (current) => {
        if (!current.material.publicKeys.some((k) => k.name === name)) throw notFound(`the trust policy of project ${project.name} has no key named "${name}"`);
        return { level: current.level, material: { ...current.material, publicKeys: current.material.publicKeys.filter((k) => k.name !== name) } };
      },
      actor,
    );
    return this.view(project);
  }

  /** Manifests attached to `digest`: its referrers and its cosign `.sig` tag's manifest. */
  async accessories(repository: string, digest: string): Promise<AccessoryView[]> {
    const out: AccessoryView[] = (await this.deps.listReferrers(repository, digest)).map((r) => ({ digest: r.digest, type: accessoryType(r.artifactType), subject: digest }));
    const tagged = await this.deps.resolveTag(repository, cosignSignatureTag(digest));
    if (tagged !== undefined && !out.some((a) => a.digest === tagged)) out.push({ digest: tagged, type: 'signature.cosign', subject: digest });
    return out;
  }

  /** The artifact's signatures (and its indexes') with their verification under the project's policy. */
  async signatures(project: string, repository: string, digest: string): Promise<SignaturesView> {
    const policy: EffectivePolicy = this.deps.policies.of(project);
    const evaluation = await this.deps.checks.evaluate(repository, digest, policy);
    const verdict = policy.level === 'off' ? { satisfied: true as const } : judge(policy, evaluation);
    return {
      level: policy.level,
      version: policy.material.version,
      satisfied: verdict.satisfied,
      ...(verdict.satisfied ? {} : { message: verdict.message }),
      ...(evaluation.exempt ? { exempt: evaluation.exempt } : {}),
      signatures: evaluation.signatures,
    };
  }
}
