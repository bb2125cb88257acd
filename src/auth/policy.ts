// Who may do what. Today: every signed-in user may pull, push and delete everywhere; anonymous
// clients may pull only when the operator allowed it, and never push. Projects and roles will
// refine this one function.

export interface Principal {
  /** null for an anonymous client. */
  user: string | null;
}

export const ANONYMOUS: Principal = { user: null };

export interface PolicyOptions {
  anonymousPull: boolean;
}

const USER_REPOSITORY_ACTIONS = ['pull', 'push', 'delete'];

/** The subset of `requested` actions the principal is allowed on a resource. */
export function allowedActions(principal: Principal, type: string, name: string, requested: string[], opts: PolicyOptions): string[] {
  if (type === 'repository') {
    const wanted = requested.includes('*') ? [...USER_REPOSITORY_ACTIONS, '*'] : requested;
    if (principal.user !== null) return wanted.filter((a) => a === '*' || USER_REPOSITORY_ACTIONS.includes(a));
    return opts.anonymousPull ? wanted.filter((a) => a === 'pull') : [];
  }
  if (type === 'registry' && name === 'catalog') return principal.user !== null ? requested : [];
  return [];
}
