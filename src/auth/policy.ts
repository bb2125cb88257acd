// What the registry API's actions mean in terms of projects and roles: `pull`, `push` and
// `delete` on a repository are Harbor's repository pull/push/delete in the repository's project
// (its first path component); `registry:catalog` is open to signed-in users (the listing shows
// only what the caller may pull from); `registry:certificate` to signed-in users. Asked by the
// authenticator for every request and by the token service for every scope.
import type { AccessControl } from './access-control.js';
import { projectOf } from './access-control.js';
import { ROLE_DISPLAY } from './rbac.js';

export interface Principal {
  /** The login name (a robot's with its prefix: "robot$library+ci"); null for an anonymous client. */
  user: string | null;
  /** Set for a robot account. */
  robot?: true;
}

export const ANONYMOUS: Principal = { user: null };

export interface PolicyOptions {
  anonymousPull: boolean;
  /** projects.autoCreate: a push to a project that does not exist creates it, when the pusher may create projects. */
  autoCreate: boolean;
}

const REPOSITORY_ACTIONS = ['pull', 'push', 'delete'];

/** Creates a project for its first push (projects.autoCreate), the pusher as its admin. */
export type ProjectCreator = (project: string, principal: Principal, address: string) => Promise<void>;

export class RegistryPolicy {
  constructor(
    private readonly access: AccessControl & { roleOf?(principal: Principal, project: string): number | undefined },
    private readonly options: PolicyOptions,
    private readonly createProject?: ProjectCreator,
  ) {}

  /** Whether the principal may do one action on one resource (asked on every request: no allocation on the usual path). */
  isAllowed(principal: Principal, type: string, name: string, action: string): boolean {
    if (type === 'repository') {
      const project = projectOf(name);
      if (action === '*') return REPOSITORY_ACTIONS.every((a) => this.repositoryAllows(principal, project, a));
      return REPOSITORY_ACTIONS.includes(action) && this.repositoryAllows(principal, project, action);
    }
    return type === 'registry' && (name === 'catalog' || name === 'certificate') && principal.user !== null;
  }

  private repositoryAllows(principal: Principal, project: string, action: string): boolean {
    if (principal.user === null && (!this.options.anonymousPull || action !== 'pull')) return false;
    if (this.access.can(principal, project, 'repository', action)) return true;
    // A project that does not exist yet: its first push creates it with the pusher as its admin.
    return this.willCreate(principal, project);
  }

  /** The subset of `requested` actions the principal is allowed on a resource (token scopes). */
  allowedActions(principal: Principal, type: string, name: string, requested: string[]): string[] {
    const wanted = type === 'repository' && requested.includes('*') ? [...REPOSITORY_ACTIONS, '*'] : requested;
    return wanted.filter((a) => this.isAllowed(principal, type, name, a));
  }

  /** Whether a push by `principal` would create `project` (see prepare). */
  willCreate(principal: Principal, project: string): boolean {
    return (
      this.options.autoCreate &&
      this.createProject !== undefined &&
      principal.user !== null &&
      this.access.projectId(project) === undefined &&
      this.access.canSystem(principal, 'project', 'create')
    );
  }

  /** Makes what a request needs exist before it is decided: the project of a first push (projects.autoCreate). */
  async prepare(principal: Principal, type: string, name: string, action: string, address: string): Promise<void> {
    if (type === 'repository' && (action === 'push' || action === '*') && this.willCreate(principal, projectOf(name))) {
      await this.createProject!(projectOf(name), principal, address);
    }
  }

  needsPreparation(principal: Principal, type: string, name: string, action: string): boolean {
    return type === 'repository' && (action === 'push' || action === '*') && this.willCreate(principal, projectOf(name));
  }

  /** Why the principal may not do it, in words a user can act on. */
  explain(principal: Principal, type: string, name: string, action: string): string {
    const who = principal.user ?? 'an anonymous client';
    if (type !== 'repository') return `${who} may not use ${type}:${name}`;
    const project = projectOf(name);
    if (this.access.projectId(project) === undefined) {
      return (
        `project "${project}" does not exist: an administrator (or, if project creation is open to everyone, any user) creates it with ` +
        `"minato project create ${project}" or POST /api/v2.0/projects${this.options.autoCreate ? '' : '; or turn on projects.autoCreate so a first push creates it'}`
      );
    }
    if (principal.user === null) return `anonymous clients may not ${action} in ${name}: sign in (project ${project} is private, or anonymous pull is off)`;
    const role = this.access.roleOf?.(principal, project);
    if (role !== undefined) return `${who} may not ${action} in ${name}: the role ${ROLE_DISPLAY[role as 1]} in project ${project} does not allow it`;
    if (principal.robot) return `${who} may not ${action} in ${name}: its permissions do not include ${action} on the repositories of project ${project}`;
    return `${who} may not ${action} in ${name}: not a member of project ${project}; a project admin can add ${who} with a role`;
  }
}
