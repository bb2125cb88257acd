// Projects' trust policies in memory: what a pull of a manifest must carry to be served, read
// without a query (the pull decider asks on every manifest GET). Rebuilt after every change this
// process makes (before the change's call returns) and when the outbox brings a change another
// process made (`trust-policy.changed`, and `project.changed` for Harbor's metadata flags).
//
// Harbor's project metadata counts too. Harbor's `enable_content_trust_cosign` = "true" requires
// that a cosign signature exists and `enable_content_trust` = "true" that a Notary signature
// exists (Harbor checks existence only, harbor-layer.md §1.13). minato maps each to `enforce`
// with a requirement: a *valid* signature of that family under the project's trust material.
// A project's own level `enforce` asks for one valid signature of any format. The stricter wins.
import type { SignatureFormat, TrustMaterial } from './signatures.js';
import type { ProjectTrustRow, TrustLevel, TrustPolicyStore } from './trust-policy-store.js';
import { CoalescedReload } from '../util/async.js';

/** A set of formats of which at least one signature must verify. */
export interface Requirement {
  /** For people: "a signature", "a cosign signature (enable_content_trust_cosign)". */
  what: string;
  formats: ReadonlySet<SignatureFormat>;
}

export const COSIGN_FORMATS: ReadonlySet<SignatureFormat> = new Set(['cosign', 'sigstore-bundle']);
export const NOTATION_FORMATS: ReadonlySet<SignatureFormat> = new Set(['notation-jws', 'notation-cose']);
export const ALL_FORMATS: ReadonlySet<SignatureFormat> = new Set(['cosign', 'sigstore-bundle', 'notation-jws', 'notation-cose', 'simple-signing']);

/** A project's policy as the pull decider applies it. */
export interface EffectivePolicy {
  project: string;
  projectId: number;
  level: TrustLevel;
  /** Every one must be met (empty when the level is off). */
  requirements: Requirement[];
  material: TrustMaterial;
}

const OFF: Omit<EffectivePolicy, 'project' | 'projectId'> = {
  level: 'off',
  requirements: [],
  material: { version: 0, publicKeys: [], notation: { certificates: [], trustedIdentities: [] }, gpgKeys: [], keyless: { identities: [] } },
};

/** The policy a project's row gives (exported for tests and the API's view). */
export function effectivePolicy(row: ProjectTrustRow): EffectivePolicy {
  const requirements: Requirement[] = [];
  const cosign = row.metadata.enable_content_trust_cosign === 'true';
  const notation = row.metadata.enable_content_trust === 'true';
  if (cosign) requirements.push({ what: 'a cosign signature (enable_content_trust_cosign)', formats: COSIGN_FORMATS });
  if (notation) requirements.push({ what: 'a Notary Project signature (enable_content_trust)', formats: NOTATION_FORMATS });
  let level = row.level;
  if (requirements.length > 0) level = 'enforce';
  else if (level !== 'off') requirements.push({ what: 'a signature', formats: ALL_FORMATS });
  return { project: row.project, projectId: row.projectId, level, requirements, material: { ...row.material, version: row.version } };
}

export class TrustPolicies {
  private byProject = new Map<string, EffectivePolicy>();
  private readonly reloads = new CoalescedReload(() => this.load());
  private readonly changed: Array<(project: string) => void> = [];

  constructor(private readonly store: Pick<TrustPolicyStore, 'all'>) {}

  /** Resolves once a reload that started after this call has finished; concurrent calls share reloads. */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  /** Called with each project whose material (id or version) changed in a reload: its cached verifications are stale. */
  onMaterialChanged(listener: (project: string) => void): void {
    this.changed.push(listener);
  }

  private async load(): Promise<void> {
    const next = new Map<string, EffectivePolicy>();
    for (const row of await this.store.all()) next.set(row.project, effectivePolicy(row));
    const before = this.byProject;
    this.byProject = next;
    for (const [name, old] of before) {
      const now = next.get(name);
      if (!now || now.projectId !== old.projectId || now.material.version !== old.material.version) for (const l of this.changed) l(name);
    }
  }

  /** A project's policy; `off` for a project without one (or unknown). Sync: a map lookup. */
  of(project: string): EffectivePolicy {
    return this.byProject.get(project) ?? { project, projectId: 0, ...OFF };
  }
}
