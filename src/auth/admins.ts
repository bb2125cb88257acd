// Who counts as an administrator until roles exist: the users named in auth.admins (by default
// "admin", the user the database mode creates at its first start; with htpasswd the operator
// names them). Asked before anything that changes the registry's own state or spends someone
// else's budget (a forced certificate renewal orders from a rate-limited public CA).
import type { Principal } from './policy.js';

export class Admins {
  private readonly names: ReadonlySet<string>;

  constructor(names: readonly string[]) {
    this.names = new Set(names);
  }

  /** Whether the principal is a signed-in user named in auth.admins. */
  has(principal: Principal): boolean {
    return principal.user !== null && this.names.has(principal.user);
  }

  /** The configured names, for messages. */
  list(): string[] {
    return [...this.names];
  }
}
