// Project storage quotas as use cases: read a project's limit and usage, set its limit (system
// administrators only, as in Harbor), and recount usage from the references, reporting and fixing
// any drift. The management API and the CLI call these; the quota itself is enforced at the
// policy points (policy/quota.ts). What "used" means: metadata-store.ts, "Project usage".
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AccessControl } from '../auth/access-control.js';
import { eventTime, type RegistryEvent } from '../events/events.js';
import type { MetadataStore, ProjectQuota, UsageRecount } from '../metadata/metadata-store.js';
import { OciError } from '../oci/errors.js';
import type { Caller } from '../policy/policy.js';
import { WARNING_SHARE } from '../policy/quota.js';
import { describeSize, parseStorageLimit } from '../util/size.js';
import { eventActor } from './event-actor.js';

export interface QuotasDeps {
  meta: MetadataStore;
  /** Who may read and change quotas (Harbor's quota:read in a project, system quota:update). */
  access: Pick<AccessControl, 'can' | 'canSystem'>;
  log?: Logger;
}

export class Quotas {
  /** Marks the project.changed events of this process (see events.ts). */
  private readonly origin = randomUUID();

  constructor(private readonly deps: QuotasDeps) {}

  /** A project's limit and usage: for its members with quota:read and for system administrators. */
  async usage(caller: Caller, project: string): Promise<ProjectQuota> {
    const principal = caller.grant?.principal;
    if (principal && !this.deps.access.can(principal, project, 'quota', 'read') && !this.deps.access.canSystem(principal, 'quota', 'read')) {
      throw new OciError('DENIED', `not allowed to read the quota of project ${project}`);
    }
    return this.existing(await this.deps.meta.projectQuota(project));
  }

  /**
   * Sets a project's storage limit: bytes, a size such as "10GiB", or -1 for unlimited. It applies
   * to the next push at once; usage above a lowered limit stays (pushes that add bytes are refused,
   * deletes give room back). Records project.changed, and quota.warning when usage is already at
   * 85 % of the new limit (no push would cross it).
   */
  async setLimit(caller: Caller, project: string, limit: number | string): Promise<ProjectQuota> {
    this.assertAdmin(caller, `set the storage quota of project ${project}`);
    const bytes = parseLimit(limit);
    const actor = await eventActor(this.deps.meta, caller);
    return this.deps.meta.transaction(async (tx) => {
      if (!(await tx.setStorageLimit(project, bytes))) throw unknownProject(project);
      const quota = await tx.projectQuota(project);
      const at = eventTime();
      const events: RegistryEvent[] = [{ type: 'project.changed', at, actor, project, projectId: quota.projectId!, change: 'updated', origin: this.origin }];
      if (bytes >= 0 && quota.used >= bytes * WARNING_SHARE) {
        events.push({ type: 'quota.warning', at, actor, project, projectId: quota.projectId!, usedBytes: quota.used, limitBytes: bytes });
      }
      await tx.appendEvents(events);
      return quota;
    });
  }

  /**
   * Recounts usage from the references, one project or every one, each in a transaction of its
   * own under the project's usage lock; keeps the recount and reports what differed.
   */
  async recount(caller: Caller, project?: string): Promise<UsageRecount[]> {
    this.assertAdmin(caller, 'recount storage usage');
    if (project !== undefined) this.existing(await this.deps.meta.projectQuota(project));
    const projects = project !== undefined ? [project] : await this.deps.meta.usageProjects();
    const recounts: UsageRecount[] = [];
    for (const name of projects) {
      const recount = await this.deps.meta.transaction((tx) => tx.recountProjectUsage(name));
      recounts.push(recount);
      if (recount.before !== recount.after || recount.blobsFixed + recount.manifestsFixed + recount.linksFixed > 0) {
        this.deps.log?.warn(
          { ...recount },
          `storage usage of project ${name} had drifted: kept ${describeSize(recount.before)}, its references give ${describeSize(recount.after)}; ` +
            'fixed. Drift means the database was changed outside minato or a bug: please report it with this line',
        );
      }
    }
    return recounts;
  }

  private assertAdmin(caller: Caller, what: string): void {
    const principal = caller.grant?.principal;
    if (principal && !this.deps.access.canSystem(principal, 'quota', 'update')) throw new OciError('DENIED', `only system administrators may ${what}`);
  }

  private existing(quota: ProjectQuota): ProjectQuota {
    if (quota.projectId === undefined) throw unknownProject(quota.project);
    return quota;
  }
}

function unknownProject(project: string): OciError {
  return new OciError('NAME_UNKNOWN', `project ${project} does not exist`);
}

/** A limit from the API or the CLI (see parseStorageLimit), as SIZE_INVALID when it is none. */
export function parseLimit(limit: number | string): number {
  try {
    return parseStorageLimit(limit);
  } catch (err) {
    throw new OciError('SIZE_INVALID', `storage limit: ${(err as Error).message}`);
  }
}
