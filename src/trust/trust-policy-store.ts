// Where projects' trust policies live (migration 0009_trust): the enforcement level and the trust
// material (keys, certificates, identities) of each project, with a version bumped on every
// change. Kysely, so one implementation runs on SQLite and PostgreSQL. Every change writes a
// `trust-policy.changed` event in its transaction, with this process's origin, so that every other
// process (replicas, the CLI) reloads its snapshot (trust/trust-policies.ts).
//
// Concurrency: a change is one transaction that reads the current version and writes the next;
// two concurrent changes of a project both commit (last writer wins), each with its own version.
// Cost: the snapshot reads every project with its policy in one query; nothing here is on a pull.
import type { Kysely } from 'kysely';
import { eventTime, type Actor } from '../events/events.js';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import { appendToOutbox } from '../metadata/outbox.js';
import type { Database } from '../metadata/schema.js';
import type { TrustMaterial } from './signatures.js';

/** off: nothing checked; audit: an event for each unsigned pull; warn: also logged; enforce: refused. */
export const TRUST_LEVELS = ['off', 'audit', 'warn', 'enforce'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/** What a project trusts, as stored (the version is the row's). */
export type StoredMaterial = Omit<TrustMaterial, 'version'>;

export interface StoredTrustPolicy {
  level: TrustLevel;
  material: StoredMaterial;
  /** 0 for a project that never had a policy. */
  version: number;
  updatedAt: number | null;
}

/** A project as the snapshot needs it: its policy and Harbor's metadata (enable_content_trust*). */
export interface ProjectTrustRow extends StoredTrustPolicy {
  projectId: number;
  project: string;
  metadata: Record<string, string>;
}

export function emptyMaterial(): StoredMaterial {
  return { publicKeys: [], notation: { certificates: [], trustedIdentities: [] }, gpgKeys: [], keyless: { identities: [] } };
}

export class TrustPolicyStore {
  private readonly listeners: Array<() => void | Promise<void>> = [];

  constructor(
    private readonly db: Db,
    /** Names this process in the events it writes, so that it does not apply them twice. */
    readonly origin: string,
    private readonly writes: WriteGate = directWrites,
  ) {}

  /** Called after every change this process committed (the change returns once they are done). */
  onChange(listener: () => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Every project, with its policy (level off and no material when it has none). One query. */
  async all(): Promise<ProjectTrustRow[]> {
    const rows = await this.db
      .selectFrom('projects as p')
      .leftJoin('trust_policies as t', 't.project_id', 'p.id')
      .select(['p.id', 'p.name', 'p.metadata', 't.level', 't.material', 't.version', 't.updated_at'])
      .execute();
    return rows.map((r) => ({
      projectId: Number(r.id),
      project: r.name,
      metadata: JSON.parse(r.metadata) as Record<string, string>,
      ...policyOf(r),
    }));
  }

  async get(projectId: number): Promise<StoredTrustPolicy> {
    const row = await this.db.selectFrom('trust_policies').select(['level', 'material', 'version', 'updated_at']).where('project_id', '=', projectId).executeTakeFirst();
    return policyOf(row ?? {});
  }

  /** The manifests of the repository that reference `digest` as a child (the indexes over it). One query. */
  async parentsOf(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references as mr')
      .innerJoin('repositories as r', 'r.id', 'mr.repository_id')
      .innerJoin('manifests as m', (j) => j.onRef('m.repository_id', '=', 'mr.repository_id').onRef('m.digest', '=', 'mr.manifest_digest'))
      .select('mr.manifest_digest')
      .where('r.name', '=', repository)
      .where('mr.child_digest', '=', digest)
      .limit(16)
      .execute();
    return rows.map((r) => r.manifest_digest);
  }


  /**
   * Replaces a project's policy with `change(current)` (validated by the caller), bumping its
   * version, with its event, in one transaction. Returns the stored policy.
   */
  async update(project: { id: number; name: string }, change: (current: StoredTrustPolicy) => { level: TrustLevel; material: StoredMaterial }, actor: Actor): Promise<StoredTrustPolicy> {
    const stored = await this.writes(() =>
      this.db.transaction().execute(async (trx: Kysely<Database>) => {
        const row = await trx.selectFrom('trust_policies').select(['level', 'material', 'version', 'updated_at']).where('project_id', '=', project.id).executeTakeFirst();
        const current = policyOf(row ?? {});
        const next = change(current);
        const version = current.version + 1;
        const now = Date.now();
        const values = { level: next.level, material: JSON.stringify(next.material), version, updated_at: now };
        if (row) await trx.updateTable('trust_policies').set(values).where('project_id', '=', project.id).execute();
        else await trx.insertInto('trust_policies').values({ project_id: project.id, ...values }).execute();
        await appendToOutbox(trx, [{ type: 'trust-policy.changed', at: eventTime(), actor, project: project.name, projectId: project.id, version, origin: this.origin }]);
        return { ...next, version, updatedAt: now };
      }),
    );
    await Promise.all(this.listeners.map((l) => l()));
    return stored;
  }
}

function policyOf(r: { level?: string | null; material?: string | null; version?: number | null; updated_at?: number | null }): StoredTrustPolicy {
  if (r.level === undefined || r.level === null) return { level: 'off', material: emptyMaterial(), version: 0, updatedAt: null };
  return {
    level: (TRUST_LEVELS as readonly string[]).includes(r.level) ? (r.level as TrustLevel) : 'off',
    material: { ...emptyMaterial(), ...(JSON.parse(r.material ?? '{}') as Partial<StoredMaterial>) },
    version: Number(r.version),
    updatedAt: r.updated_at === null || r.updated_at === undefined ? null : Number(r.updated_at),
  };
}
