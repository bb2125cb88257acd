// Docker token scopes: "repository:<name>:<action>[,<action>...]" and "registry:catalog:*".
// https://distribution.github.io/distribution/spec/auth/scope/

export type Action = 'pull' | 'push' | 'delete' | '*';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** Parses one scope string; malformed ones yield undefined (and are ignored, as Distribution does). */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  if (name === '' || actions.length === 0) return undefined;
  return { type, name, actions };
}

export function formatScope(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/** Whether a list of granted accesses covers `action` on a resource. */
export function grants(granted: readonly Access[], type: string, name: string, action: string): boolean {
  return granted.some((g) => g.type === type && g.name === name && (g.actions.includes(action) || g.actions.includes('*')));
}
