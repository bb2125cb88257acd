// Who may do what. Today: every signed-in user may pull, push and delete everywhere and use the
// management API; anonymous clients may pull only when the operator allowed it, and never push.
// Projects and roles will refine these functions.

export interface Principal {
  /** The login name (a robot's with its prefix: "robot$library+ci"); null for an anonymous client. */
  user: string | null;
  /** Set for a robot account. */
  robot?: true;
}

export const ANONYMOUS: Principal = { user: null };

export interface PolicyOptions {
  anonymousPull: boolean;
}

const USER_REPOSITORY_ACTIONS = ['pull', 'push', 'delete'];
/** `registry:<name>:*` resources: the catalog, and the certificate management API. */
const USER_REGISTRY_RESOURCES = ['catalog', 'certificate'];

/** The subset of `requested` actions the principal is allowed on a resource. */
export function allowedActions(principal: Principal, type: string, name: string, requested: string[], opts: PolicyOptions): string[] {
  if (type === 'repository') {
    const wanted = requested.includes('*') ? [...USER_REPOSITORY_ACTIONS, '*'] : requested;
    if (principal.user !== null) return wanted.filter((a) => a === '*' || USER_REPOSITORY_ACTIONS.includes(a));
    return opts.anonymousPull ? wanted.filter((a) => a === 'pull') : [];
  }
  if (type === 'registry' && USER_REGISTRY_RESOURCES.includes(name)) return principal.user !== null ? requested : [];
  return [];
}

/**
 * Whether the principal may do one action on one resource: what `allowedActions` says for that
 * action, without building arrays (asked on every bearer request).
 */
export function isAllowed(principal: Principal, type: string, name: string, action: string, opts: PolicyOptions): boolean {
  if (type === 'repository') {
    if (principal.user !== null) return action === '*' || USER_REPOSITORY_ACTIONS.includes(action);
    return opts.anonymousPull && action === 'pull';
  }
  return type === 'registry' && principal.user !== null && USER_REGISTRY_RESOURCES.includes(name);
}
