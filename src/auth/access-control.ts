// Who may do what, now that projects and roles exist: the question every front end asks (the
// registry API through the policy points and the token service, the management API through its
// route guards). Answered synchronously from a snapshot of projects, memberships, system admins
// and robots held in memory, so the per-request check costs map lookups (manifest-hot), and kept
// current by the changes this process makes and by the outbox events of the others (every
// replica, the CLI).
import type { Principal } from './policy.js';

/**
 * The decisions. Concurrency: safe from any number of requests (reads of an immutable snapshot).
 * Cost: a few map lookups, no I/O, no promise. Errors: none (an unknown project or principal is
 * simply not allowed).
 */
export interface AccessControl {
  /**
   * Whether `principal` may do `resource:action` (Harbor's strings, auth/rbac.ts) in the project
   * named `project`: a system admin may do anything in an existing project; a member what its
   * role grants; anyone, anonymous included, the public set of a public project; a robot what its
   * permission list names (and only while it is enabled and not expired).
   */
  can(principal: Principal, project: string, resource: string, action: string): boolean;
  /** Whether `principal` may do a system-level `resource:action` (users, audit-log, project create, quota update...). */
  canSystem(principal: Principal, resource: string, action: string): boolean;
  isSysAdmin(principal: Principal): boolean;
  /** The project's id, or undefined when no such project exists. */
  projectId(project: string): number | undefined;
}

// The project of a repository is domain grammar (oci/names.ts): the metadata stores count usage per project too.
export { projectOf } from '../oci/names.js';
