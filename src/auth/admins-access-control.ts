// The access decisions until projects and roles are wired in: the users named in auth.admins are
// system administrators and may do everything, everyone else nothing beyond what a route allows
// any signed-in caller. Implements the AccessControl contract, so the management API is built
// and tested against the interface the role-based implementation fills in.
import type { AccessControl } from './access-control.js';
import type { Admins } from './admins.js';
import type { Principal } from './policy.js';

export class AdminsAccessControl implements AccessControl {
  constructor(private readonly admins: Admins) {}

  can(principal: Principal): boolean {
    return this.isSysAdmin(principal);
  }

  canSystem(principal: Principal): boolean {
    return this.isSysAdmin(principal);
  }

  isSysAdmin(principal: Principal): boolean {
    return principal.robot !== true && this.admins.has(principal);
  }

  /** No project store yet. */
  projectId(): number | undefined {
    return undefined;
  }
}
