// What the management API and the CLI read about projects, and the metadata and member changes
// they make by project: which projects a caller sees (system admins all; users the public ones and
// those they are members of; robots those their permissions name), a project's summary, whether
// it may be deleted, its members. Changes go through core/projects.ts (events, the snapshot).
import type { ProjectRecord } from '../auth/access-store.js';
import type { Principal } from '../auth/policy.js';
import { ROBOT_PREFIX } from '../auth/robot-identity.js';
import { ProjectQueries, type MemberListItem, type ProjectListItem, type ProjectListQuery, type ProjectScope } from '../auth/project-queries.js';
import type { RoleId } from '../auth/rbac.js';
import type { Actor } from '../events/events.js';
import type { Page } from '../metadata/list-query.js';
import { invalid, notFound } from '../util/domain-error.js';
import type { Projects } from './projects.js';

export interface CatalogOptions {
  /** auth.anonymousPull: anonymous clients see public projects. */
  anonymousPull: boolean;
  isSysAdmin(principal: Principal): boolean;
}

export interface ProjectSummary {
  repoCount: number;
  members: Map<RoleId, number>;
  /** Bytes; -1 unlimited. */
  storageLimit: number;
}

/** Harbor's metadata keys a client may set (values are strings, as in Harbor). */
const METADATA_KEY = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_METADATA_VALUE = 1024;

export class ProjectCatalog {
  constructor(
    readonly queries: ProjectQueries,
    private readonly projects: Projects,
    private readonly options: CatalogOptions,
  ) {}

  /** Which projects `principal` may list. */
  async scope(principal: Principal): Promise<ProjectScope> {
    if (principal.user === null) return { public: this.options.anonymousPull };
    if (this.options.isSysAdmin(principal)) return { all: true };
    if (principal.robot) {
      const robot = await this.projects.store.robot(principal.user.slice(ROBOT_PREFIX.length));
      const names = (robot?.permissions ?? []).filter((p) => p.kind === 'project').map((p) => p.namespace);
      if (names.includes('*')) return { all: true };
      return { public: true, names };
    }
    return { public: true, memberId: await this.projects.store.principalId('user', principal.user) };
  }

  /** A page of the projects `principal` sees; with their repository counts unless `withRepoCounts` is false. */
  async list(principal: Principal, q: Omit<ProjectListQuery, 'scope'> & { withRepoCounts?: boolean }): Promise<{ items: ProjectListItem[]; total: number; repoCounts: Map<string, number> }> {
    const { items, total } = await this.queries.list({ ...q, scope: await this.scope(principal) });
    const repoCounts = q.withRepoCounts === false ? new Map<string, number>() : await this.queries.repositoryCounts(items.map((p) => p.name));
    return { items, total, repoCounts };
  }

  async withOwner(project: ProjectRecord): Promise<ProjectListItem> {
    return { ...project, ownerName: await this.queries.ownerName(project.ownerId) };
  }

  async repoCount(project: string): Promise<number> {
    return (await this.queries.repositoryCounts([project])).get(project) ?? 0;
  }

  async summary(project: ProjectRecord): Promise<ProjectSummary> {
    const [repoCount, members] = await Promise.all([this.repoCount(project.name), this.queries.memberCounts(project.id)]);
    return { repoCount, members, storageLimit: project.storageLimit };
  }

  /** Whether the project may be deleted now, and why not (Harbor's ProjectDeletable). */
  async deletable(project: ProjectRecord): Promise<{ deletable: boolean; message?: string }> {
    const n = await this.repoCount(project.name);
    if (n === 0) return { deletable: true };
    return { deletable: false, message: `project ${project.name} still has ${n} repositor${n === 1 ? 'y' : 'ies'}; delete them first` };
  }

  members(project: ProjectRecord, entityName: string | undefined, page: Page) {
    return this.queries.members(project.id, entityName, page);
  }

  async member(project: ProjectRecord, principalId: number): Promise<MemberListItem> {
    const m = await this.queries.member(project.id, principalId);
    if (!m) throw notFound(`member ${principalId} is not in project ${project.name}`);
    return m;
  }

  /** Adds or replaces metadata keys ("public" too, which makes the project public or private). */
  async setMetadata(project: ProjectRecord, metadata: Record<string, string>, actor: Actor, mustExist?: string): Promise<ProjectRecord> {
    for (const [key, value] of Object.entries(metadata)) {
      if (!METADATA_KEY.test(key)) throw invalid(`metadata key "${key.slice(0, 64)}" is not allowed: lowercase letters, digits and "_", starting with a letter`);
      if (value.length > MAX_METADATA_VALUE) throw invalid(`the value of metadata ${key} is longer than ${MAX_METADATA_VALUE} characters`);
      if (key === 'public' && value !== 'true' && value !== 'false') throw invalid('metadata public is "true" or "false"');
    }
    if (mustExist !== undefined && !(mustExist in project.metadata)) throw notFound(`project ${project.name} has no metadata "${mustExist}"`);
    return this.projects.update(project, { metadata }, actor);
  }

  deleteMetadata(project: ProjectRecord, key: string, actor: Actor): Promise<ProjectRecord> {
    return this.projects.store.deleteProjectMetadata(project.id, key, actor);
  }
}
