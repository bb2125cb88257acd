// Who may call an operation: every route declares one rule, the frame enforces it before the
// handler runs (handlers never check permissions themselves), and the OpenAPI document shows it.
// The decisions are AccessControl's (auth/access-control.ts): Harbor's matrix, system admins,
// public projects, robots' permission lists.
//
// Order, as Harbor's: no valid credentials where they are needed -> 401 (with a Basic challenge);
// signed in but not allowed -> 403; a system admin asking about a project that does not exist
// -> 404 (others get 403, so a private project's existence is not given away).
import type { AccessControl } from '../auth/access-control.js';
import type { Principal } from '../auth/policy.js';
import { ApiError } from './errors.js';

/** Where a project rule finds its project: the validated input in, the project's name out (undefined: no such project). */
export type ProjectOf<I> = (input: I) => string | undefined | Promise<string | undefined>;

export type AccessRule<I = any> =
  /** Anyone, anonymous included (credentials, when sent, must still be right). */
  | { kind: 'public' }
  /** Any signed-in user or robot. */
  | { kind: 'signedIn' }
  /** A system-level permission (Harbor's system resources: user, audit-log, project create, ...). */
  | { kind: 'system'; resource: string; action: string }
  /**
   * A permission in the project the request names; `system`: a system permission that allows it
   * too (Harbor's own rule for the route, which minato widens to the project's members).
   */
  | { kind: 'project'; resource: string; action: string; project: ProjectOf<I>; system?: { resource: string; action: string } };

export const access = {
  public: (): AccessRule => ({ kind: 'public' }),
  signedIn: (): AccessRule => ({ kind: 'signedIn' }),
  system: (resource: string, action: string): AccessRule => ({ kind: 'system', resource, action }),
  // I defaults to any where it cannot be inferred (a callback whose input is typed by the route being defined).
  project: <I = any>(resource: string, action: string, project: ProjectOf<I>, system?: { resource: string; action: string }): AccessRule<I> => ({
    kind: 'project',
    resource,
    action,
    project,
    ...(system ? { system } : {}),
  }),
};

/** The project named by a path parameter (e.g. "project_name"). */
export function fromParam<K extends string>(name: K): ProjectOf<{ params: Record<K, string> }> {
  return (input) => input.params[name];
}

/** A 401 asking for credentials; `challenge` false for callers that came with a session (a browser must not pop up a Basic prompt). */
export function unauthorized(message: string, basicRealm: string, challenge = true): ApiError {
  return new ApiError('UNAUTHORIZED', message, challenge ? { 'WWW-Authenticate': `Basic realm="${basicRealm}"` } : {});
}

export interface Enforcement {
  access: AccessControl;
  basicRealm: string;
  /** Whether the caller came with a session cookie (no Basic challenge then). */
  session: boolean;
}

const SIGN_IN = 'authentication required: send Basic credentials of a user or robot, or sign in at /c/login';

/**
 * What can be decided before the input is validated: a rule that needs a signed-in caller
 * refuses an anonymous one with 401 at once, so an anonymous client learns nothing about what
 * input would pass.
 */
export function precheck(rule: AccessRule, principal: Principal, e: Enforcement): void {
  if (principal.user === null && (rule.kind === 'signedIn' || rule.kind === 'system')) throw unauthorized(SIGN_IN, e.basicRealm, !e.session);
}

/** The whole rule, once the input is valid. Throws the 401, 403 or 404 the caller gets. */
export async function enforce<I>(rule: AccessRule<I>, principal: Principal, input: I, e: Enforcement): Promise<void> {
  precheck(rule, principal, e);
  if (rule.kind === 'public' || rule.kind === 'signedIn') return;
  const who = principal.user ?? 'an anonymous client';
  if (rule.kind === 'system') {
    if (!e.access.canSystem(principal, rule.resource, rule.action)) {
      throw new ApiError('FORBIDDEN', `${who} may not ${rule.action} ${rule.resource}: this takes a system administrator (a user in auth.admins or with the administrator flag) or a robot with that system permission`);
    }
    return;
  }
  const project = await rule.project(input);
  if (project !== undefined && e.access.can(principal, project, rule.resource, rule.action)) return;
  if (project !== undefined && rule.system && e.access.canSystem(principal, rule.system.resource, rule.system.action)) return;
  if (principal.user === null) throw unauthorized(SIGN_IN, e.basicRealm, !e.session);
  if (e.access.isSysAdmin(principal) && (project === undefined || e.access.projectId(project) === undefined)) {
    throw new ApiError('NOT_FOUND', project === undefined ? 'no such project' : `project ${project} not found`);
  }
  throw new ApiError('FORBIDDEN', `${who} may not ${rule.action} ${rule.resource} in ${project === undefined ? 'this project' : `project ${project}`}: ask a project admin for a role that allows it`);
}

/** The rule in words, for the OpenAPI document. */
export function describeRule(rule: AccessRule): string {
  switch (rule.kind) {
    case 'public':
      return 'anyone, anonymous included';
    case 'signedIn':
      return 'any signed-in user or robot';
    case 'system':
      return `system permission ${rule.resource}:${rule.action} (system administrators; robots granted it)`;
    case 'project':
      return (
        `project permission ${rule.resource}:${rule.action} in the project the path names (Harbor's role matrix; public projects grant their public set to anyone)` +
        (rule.system ? `, or system permission ${rule.system.resource}:${rule.system.action}` : '')
      );
  }
}
