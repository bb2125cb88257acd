// Docker token scopes: "repository:<name>:<action>[,<action>...]" and "registry:catalog:*".
// https://distribution.github.io/distribution/spec/auth/scope/
// Only what the registry knows goes into a token: repository names of the spec's grammar, the
// actions pull, push, delete and *, the registry resources catalog and certificate. Anything
// else is left out rather than refused, as Distribution's token servers do.
import { isName } from '../oci/names.js';

export type Action = 'pull' | 'push' | 'delete' | '*';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** A token request asking for more is refused: each scope costs token size and work. */
export const MAX_REQUESTED_SCOPES = 64;

const REPOSITORY_ACTIONS = new Set(['pull', 'push', 'delete', '*']);
const REGISTRY_RESOURCES = new Set(['catalog', 'certificate']);

/** Parses one scope string; malformed or unknown ones yield undefined. */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const known = knownAction(type, name);
  if (!known) return undefined;
  const actions = [...new Set(scope.slice(last + 1).split(',').filter(known))];
  return actions.length === 0 ? undefined : { type, name, actions };
}

/** Which actions a resource has; undefined for a resource the registry does not have. */
function knownAction(type: string, name: string): ((action: string) => boolean) | undefined {
  if (type === 'repository') return isName(name) ? (a) => REPOSITORY_ACTIONS.has(a) : undefined;
  if (type === 'registry') return REGISTRY_RESOURCES.has(name) ? (a) => a === '*' : undefined;
  return undefined;
}

/**
 * The scopes of a token request (each value may hold several, separated by spaces), parsed,
 * with the unknown ones left out and those naming the same resource merged into one entry.
 */
export function parseScopes(values: readonly string[]): Access[] {
  const merged = new Map<string, Access>();
  for (const value of values) {
    for (const scope of value.split(' ')) {
      const access = parseScope(scope);
      if (!access) continue;
      const key = `${access.type}:${access.name}`;
      const seen = merged.get(key);
      if (seen) seen.actions = [...new Set([...seen.actions, ...access.actions])];
      else merged.set(key, access);
    }
  }
  return [...merged.values()];
}

/** How many scopes a token request asks for (before any is checked). */
export function countScopes(values: readonly string[]): number {
  let n = 0;
  for (const value of values) for (const scope of value.split(' ')) if (scope !== '') n++;
  return n;
}

export function formatScope(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/** Whether a list of granted accesses covers `action` on a resource. */
export function grants(granted: readonly Access[], type: string, name: string, action: string): boolean {
  return granted.some((g) => g.type === type && g.name === name && (g.actions.includes(action) || g.actions.includes('*')));
}
