// The first decider of every point: may these credentials do this action on this repository?
// Asked of the credentials the request was authorized with (for a bearer token: its scopes, not
// merely what its user could do), so that what a use case does beyond the request's own route
// (a mount reads its source repository) is authorized too. The system (no grant) may do anything.
import type { Grant, Need } from '../auth/authenticator.js';
import { ALLOW, type Caller, type Decider, type DeciderChains, type PointContexts, type Verdict } from './policy.js';

export interface Permissions {
  permits(grant: Grant, need: Need): boolean;
}

function decider<P extends keyof PointContexts>(
  permissions: Permissions,
  need: (context: PointContexts[P]) => Need,
  refusal: (context: PointContexts[P]) => string,
): Decider<P> {
  return {
    name: 'authorization',
    decide(caller: Caller, context: PointContexts[P]): Verdict {
      if (!caller.grant || permissions.permits(caller.grant, need(context))) return ALLOW;
      return { ok: false, code: 'DENIED', message: refusal(context) };
    },
  };
}

const repo = (name: string, action: string): Need => ({ type: 'repository', name, action });

/** Authorization deciders for every point. */
export function authorizationDeciders(permissions: Permissions): Required<{ [P in keyof PointContexts]: Decider<P> }> {
  const push = (c: { repository: string }) => repo(c.repository, 'push');
  const pushRefused = (c: { repository: string }) => `not allowed to push to ${c.repository}`;
  return {
    blobCommit: decider(permissions, push, pushRefused),
    manifestPut: decider(permissions, push, pushRefused),
    tagMove: decider(permissions, push, pushRefused),
    mount: decider(
      permissions,
      (c) => repo(c.from, 'pull'),
      (c) => `not allowed to pull from ${c.from}, the repository to mount from`,
    ),
    pull: decider(
      permissions,
      (c) => repo(c.repository, 'pull'),
      (c) => `not allowed to pull from ${c.repository}`,
    ),
    delete: decider(
      permissions,
      (c) => repo(c.repository, 'delete'),
      (c) => `not allowed to delete in ${c.repository}`,
    ),
  };
}

/** Chains with authorization first, then the given deciders per point. */
export function chainsWith(permissions: Permissions, more: DeciderChains = {}): DeciderChains {
  const auth = authorizationDeciders(permissions);
  const chains: Record<string, unknown[]> = {};
  for (const point of Object.keys(auth) as Array<keyof PointContexts>) chains[point] = [auth[point], ...(more[point] ?? [])];
  return chains as DeciderChains;
}
