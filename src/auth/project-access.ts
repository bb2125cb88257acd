// The AccessControl of projects and roles, answered from a snapshot in memory (auth/access-store.ts
// reads it). The snapshot is rebuilt after every change this process makes (before the change's
// call returns, so a client reads its own writes) and when the outbox brings a change another
// process made (another replica, the CLI): within the dispatcher's poll interval.
import type { AccessControl } from './access-control.js';
import type { AccessData, AccessStore, RobotPermission } from './access-store.js';
import type { Principal } from './policy.js';
import { publicGrants, roleGrants, type RoleId } from './rbac.js';
import { ROBOT_PREFIX } from './robot-identity.js';
import { CoalescedReload } from '../util/async.js';

export interface ProjectAccessOptions {
  /** auth.admins: user names that are system admins whatever the database says (htpasswd users). */
  admins: readonly string[];
  /** auth.anonymousPull: whether anonymous clients get the public set of public projects. */
  anonymousPull: boolean;
  /** projects.creationRestriction: who may create projects. */
  creation: 'everyone' | 'adminonly';
  /**
   * Whether a user exists now, so that a bearer token outlives neither its user nor its role:
   * 'database' asks the users table (through the snapshot); a function asks another source (the
   * htpasswd file).
   */
  users: 'database' | ((name: string) => boolean);
}

interface RobotGrants {
  expiresAt: number;
  disabled: boolean;
  /** "resource:action" per project name ("*": every project). */
  projects: Map<string, Set<string>>;
  system: Set<string>;
}

interface Snapshot {
  projects: Map<string, { id: number; public: boolean }>;
  /** project id -> user name -> role. */
  roles: Map<number, Map<string, RoleId>>;
  sysadmins: Set<string>;
  /** Users of the users table. */
  stored: Set<string>;
  /** By login name ("robot$..."). */
  robots: Map<string, RobotGrants>;
}

function compile(data: AccessData, admins: readonly string[]): Snapshot {
  const projects = new Map(data.projects.map((p) => [p.name, { id: p.id, public: p.public }]));
  const roles = new Map<number, Map<string, RoleId>>();
  for (const m of data.members) {
    if (m.kind !== 'user') continue;
    let byUser = roles.get(m.projectId);
    if (!byUser) roles.set(m.projectId, (byUser = new Map()));
    byUser.set(m.name, m.roleId);
  }
  const sysadmins = new Set([...admins, ...data.users.filter((u) => u.sysadmin).map((u) => u.name)]);
  const stored = new Set(data.users.filter((u) => u.stored).map((u) => u.name));
  const robots = new Map<string, RobotGrants>();
  for (const r of data.robots) robots.set(ROBOT_PREFIX + r.name, robotGrants(r.permissions, r.expiresAt, r.disabled));
  return { projects, roles, sysadmins, stored, robots };
}

function robotGrants(permissions: readonly RobotPermission[], expiresAt: number, disabled: boolean): RobotGrants {
  const grants: RobotGrants = { expiresAt, disabled, projects: new Map(), system: new Set() };
  for (const p of permissions) {
    const set = p.kind === 'system' ? grants.system : (grants.projects.get(p.namespace) ?? new Set<string>());
    for (const a of p.access) set.add(`${a.resource}:${a.action}`);
    if (p.kind === 'project') grants.projects.set(p.namespace, set);
  }
  return grants;
}

const EMPTY: Snapshot = { projects: new Map(), roles: new Map(), sysadmins: new Set(), stored: new Set(), robots: new Map() };

export class ProjectAccess implements AccessControl {
  private snap: Snapshot = EMPTY;
  private readonly reloads = new CoalescedReload(async () => {
    this.snap = compile(await this.store.snapshot(), this.options.admins);
  });

  private constructor(
    private readonly store: AccessStore,
    private readonly options: ProjectAccessOptions,
  ) {}

  static async open(store: AccessStore, options: ProjectAccessOptions): Promise<ProjectAccess> {
    const access = new ProjectAccess(store, options);
    await access.reload();
    store.onChange(() => access.reload());
    return access;
  }

  /**
   * Rebuilds the snapshot. Resolves once a reload that started after this call has finished, so
   * a caller that just committed a change sees it; concurrent calls share reloads.
   */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  can(principal: Principal, project: string, resource: string, action: string): boolean {
    const { snap } = this;
    const p = snap.projects.get(project);
    if (!p) return false;
    const name = principal.user;
    if (name === null) return this.options.anonymousPull && p.public && publicGrants(resource, action);
    if (principal.robot) {
      const robot = this.liveRobot(name);
      if (!robot) return false;
      const key = `${resource}:${action}`;
      if (robot.projects.get(project)?.has(key) || robot.projects.get('*')?.has(key)) return true;
      return p.public && publicGrants(resource, action);
    }
    if (!this.userExists(name)) return false;
    if (snap.sysadmins.has(name)) return true;
    const role = snap.roles.get(p.id)?.get(name);
    if (role !== undefined && roleGrants(role, resource, action)) return true;
    return p.public && publicGrants(resource, action);
  }

  canSystem(principal: Principal, resource: string, action: string): boolean {
    const name = principal.user;
    if (name === null) return false;
    if (principal.robot) return this.liveRobot(name)?.system.has(`${resource}:${action}`) ?? false;
    if (!this.userExists(name)) return false;
    if (this.snap.sysadmins.has(name)) return true;
    return resource === 'project' && action === 'create' && this.options.creation === 'everyone';
  }

  isSysAdmin(principal: Principal): boolean {
    return principal.user !== null && !principal.robot && this.snap.sysadmins.has(principal.user) && this.userExists(principal.user);
  }

  private userExists(name: string): boolean {
    const { users } = this.options;
    return users === 'database' ? this.snap.stored.has(name) : users(name);
  }

  projectId(project: string): number | undefined {
    return this.snap.projects.get(project)?.id;
  }

  /** The role a user holds in a project, if any (for messages). */
  roleOf(principal: Principal, project: string): RoleId | undefined {
    const p = this.snap.projects.get(project);
    return p && principal.user !== null ? this.snap.roles.get(p.id)?.get(principal.user) : undefined;
  }

  private liveRobot(login: string): RobotGrants | undefined {
    const robot = this.snap.robots.get(login);
    if (!robot || robot.disabled || (robot.expiresAt !== -1 && robot.expiresAt <= Date.now())) return undefined;
    return robot;
  }
}
