// Harbor's project roles as its code grants them (goharbor/harbor src/common/rbac/project/
// rbac_role.go and rbac_util.go, v2.15), not as its documentation tables say: the rows where the
// two disagree follow the code (Guest does not list the project audit log, Guest cannot retag,
// Guest and Developer may read the project's robots). docs/permissions.md is this table in words
// and test/integration/permissions.test.ts checks every cell minato has an action for.
//
// A permission is "resource:action". Resources and actions are Harbor's strings; the project
// itself is the resource "project" (Harbor's "" / Self).

/** Harbor's role ids (src/common/const.go), which its API uses in members' role_id. */
export const ROLES = {
  projectAdmin: 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
  limitedGuest: 5,
} as const;

export type RoleId = (typeof ROLES)[keyof typeof ROLES];

export const ROLE_NAMES: Record<RoleId, string> = {
  1: 'projectAdmin',
  2: 'developer',
  3: 'guest',
  4: 'maintainer',
  5: 'limitedGuest',
};

/** Harbor's display names, as its API returns them in `role_name`. */
export const ROLE_DISPLAY: Record<RoleId, string> = {
  1: 'Project Admin',
  2: 'Developer',
  3: 'Guest',
  4: 'Maintainer',
  5: 'Limited Guest',
};

export function isRoleId(n: number): n is RoleId {
  return Number.isInteger(n) && n >= 1 && n <= 5;
}

type Grants = Record<string, readonly string[]>;

const CRUD = ['create', 'read', 'update', 'delete', 'list'];

const PROJECT_ADMIN: Grants = {
  project: ['read', 'update', 'delete'],
  member: CRUD,
  metadata: CRUD,
  log: ['list'],
  label: CRUD,
  quota: ['read'],
  repository: ['create', 'read', 'update', 'delete', 'list', 'pull', 'push'],
  'tag-retention': [...CRUD, 'operate'],
  'immutable-tag': ['create', 'update', 'delete', 'list'],
  configuration: ['read', 'update'],
  robot: CRUD,
  'notification-policy': CRUD,
  scan: ['create', 'read', 'stop'],
  sbom: ['create', 'read', 'stop'],
  scanner: ['read', 'create'],
  artifact: ['create', 'read', 'list', 'delete'],
  'artifact-addition': ['read'],
  tag: ['create', 'list', 'delete'],
  accessory: ['list'],
  'artifact-label': ['create', 'delete'],
  'preheat-policy': CRUD,
  'export-cve': ['create', 'read', 'list'],
};

const MAINTAINER: Grants = {
  project: ['read'],
  member: ['read', 'list'],
  metadata: ['read'],
  label: CRUD,
  quota: ['read'],
  repository: ['create', 'read', 'update', 'delete', 'list', 'pull', 'push'],
  'tag-retention': [...CRUD, 'operate'],
  'immutable-tag': ['create', 'update', 'delete', 'list'],
  configuration: ['read'],
  robot: ['read', 'list'],
  'notification-policy': ['read', 'list'],
  scan: ['create', 'read', 'stop'],
  sbom: ['create', 'read', 'stop'],
  scanner: ['read'],
  artifact: ['create', 'read', 'list', 'delete'],
  'artifact-addition': ['read'],
  tag: ['create', 'list', 'delete'],
  accessory: ['list'],
  'artifact-label': ['create', 'delete'],
  'export-cve': ['create', 'read', 'list'],
};

const DEVELOPER: Grants = {
  project: ['read'],
  member: ['read', 'list'],
  label: ['read', 'list'],
  quota: ['read'],
  repository: ['create', 'read', 'update', 'list', 'pull', 'push'],
  'tag-retention': [...CRUD, 'operate'],
  configuration: ['read'],
  robot: ['read', 'list'],
  scan: ['read'],
  sbom: ['read'],
  scanner: ['read'],
  artifact: ['create', 'read', 'list'],
  'artifact-addition': ['read'],
  tag: ['create', 'list'],
  accessory: ['list'],
  'artifact-label': ['create', 'delete'],
  'export-cve': ['create', 'read', 'list'],
};

const GUEST: Grants = {
  project: ['read'],
  member: ['read', 'list'],
  label: ['read', 'list'],
  quota: ['read'],
  repository: ['read', 'list', 'pull'],
  configuration: ['read'],
  robot: ['read', 'list'],
  scan: ['read'],
  sbom: ['read'],
  scanner: ['read'],
  artifact: ['read', 'list'],
  'artifact-addition': ['read'],
  tag: ['list'],
  accessory: ['list'],
};

const LIMITED_GUEST: Grants = {
  project: ['read'],
  quota: ['read'],
  repository: ['read', 'list', 'pull'],
  configuration: ['read'],
  scan: ['read'],
  sbom: ['read'],
  scanner: ['read'],
  artifact: ['read', 'list'],
  'artifact-addition': ['read'],
  tag: ['list'],
  accessory: ['list'],
};

/** What anyone, anonymous included, may do in a public project (Harbor's public policy set). */
const PUBLIC: Grants = {
  project: ['read'],
  label: ['read', 'list'],
  repository: ['list', 'pull'],
  scan: ['read'],
  scanner: ['read'],
  artifact: ['read', 'list'],
  'artifact-addition': ['read'],
  tag: ['list'],
  accessory: ['list'],
};

function toSet(grants: Grants): ReadonlySet<string> {
  return new Set(Object.entries(grants).flatMap(([resource, actions]) => actions.map((a) => `${resource}:${a}`)));
}

const ROLE_PERMISSIONS: Record<RoleId, ReadonlySet<string>> = {
  1: toSet(PROJECT_ADMIN),
  2: toSet(DEVELOPER),
  3: toSet(GUEST),
  4: toSet(MAINTAINER),
  5: toSet(LIMITED_GUEST),
};

const PUBLIC_PERMISSIONS = toSet(PUBLIC);

/** Whether a project role grants `resource:action`. */
export function roleGrants(role: RoleId, resource: string, action: string): boolean {
  return ROLE_PERMISSIONS[role].has(`${resource}:${action}`);
}

/** Whether the public set of a public project grants `resource:action`. */
export function publicGrants(resource: string, action: string): boolean {
  return PUBLIC_PERMISSIONS.has(`${resource}:${action}`);
}

/** Every project-level resource:action pair some role has (the cells of the matrix). */
export function projectPermissions(): string[] {
  return [...ROLE_PERMISSIONS[1]].sort();
}

/**
 * What a robot may be given (Harbor's allow-list, src/common/rbac/const.go PoliciesMap): anything
 * else in a robot's permission list is refused with 400.
 */
export const ROBOT_ALLOWED: Record<'system' | 'project', Grants> = {
  system: {
    'audit-log': ['list'],
    project: ['list', 'create'],
    'scan-all': ['read', 'update', 'stop', 'create'],
    'garbage-collection': ['read', 'create', 'list', 'update', 'stop'],
    'purge-audit': ['read', 'create', 'list', 'update', 'stop'],
    scanner: CRUD,
    label: ['create', 'read', 'update', 'delete'],
    catalog: ['read'],
    quota: ['read', 'list', 'update'],
    robot: ['create', 'read', 'list', 'delete'],
    user: CRUD,
    'user-group': CRUD,
    'system-volumes': ['read'],
  },
  project: {
    log: ['list'],
    project: ['read', 'delete', 'update'],
    metadata: CRUD,
    repository: ['read', 'update', 'delete', 'list', 'pull', 'push'],
    artifact: ['read', 'create', 'list', 'delete'],
    scan: ['create', 'read', 'stop'],
    sbom: ['create', 'stop', 'read'],
    tag: ['create', 'list', 'delete'],
    accessory: ['list'],
    'artifact-addition': ['read'],
    'artifact-label': ['create', 'delete'],
    scanner: ['create', 'read'],
    'immutable-tag': CRUD,
    'notification-policy': CRUD,
    'tag-retention': CRUD,
    label: CRUD,
    quota: ['read'],
    robot: ['create', 'read', 'list', 'delete'],
    member: CRUD,
  },
};

/** Whether a robot may be given `resource:action` at this level. */
export function robotMayHave(kind: 'system' | 'project', resource: string, action: string): boolean {
  return ROBOT_ALLOWED[kind][resource]?.includes(action) ?? false;
}
