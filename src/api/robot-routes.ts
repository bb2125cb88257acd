// Harbor's robot account endpoints (/robots...) and the catalogue of what robots may be given
// (/permissions); beyond Harbor, a grace period for a refreshed secret, the last sign-in in the
// Robot model, and pull secrets (POST /robots/{id}/pullsecret). Handlers parse, call one use case
// (core/robots.ts) and shape Harbor's models.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RobotRecord } from '../auth/access-store.js';
import type { Principal } from '../auth/policy.js';
import { ROBOT_ALLOWED } from '../auth/rbac.js';
import { ROBOT_PREFIX } from '../auth/robot-identity.js';
import { MAX_SECRET_GRACE_SECONDS } from '../core/projects.js';
import type { RobotAccounts, RobotCaller } from '../core/robots.js';
import type { Actor } from '../events/events.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { parseQ, parseSort } from './query.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';
import { idParam } from './user-routes.js';

export interface RobotRouteDeps {
  robots: RobotAccounts;
  actor(principal: Principal, address?: string): Promise<Actor>;
  /** The origin clients reach the registry at ("https://registry.example.com"). */
  origin(request: FastifyRequest): string;
}

const iso = (ms: number) => new Date(ms).toISOString();

const AccessModel = model(
  'Access',
  z.object({
    resource: z.string().describe('A resource of GET /permissions ("repository").'),
    action: z.string().describe('"pull", "push", ...'),
    effect: z.string().optional().describe('Harbor\'s field; only "allow" exists.'),
  }),
);

const RobotPermissionModel = model(
  'RobotPermission',
  z.object({
    kind: z.enum(['system', 'project']),
    namespace: z.string().describe('The project\'s name, "*" for every project (system robots), "/" for the system entry.'),
    access: z.array(AccessModel).max(200),
  }),
);

const level = z.enum(['system', 'project']);
const duration = z.number().int().describe('Days until it expires; -1 never.');

const RobotModel = model(
  'Robot',
  z.object({
    id: z.number().int(),
    name: z.string().describe('The login name: robot$<name> or robot$<project>+<name>.'),
    description: z.string(),
    level,
    duration,
    editable: z.boolean(),
    disable: z.boolean(),
    expires_at: z.number().int().describe('Unix seconds; -1 never.'),
    permissions: z.array(RobotPermissionModel),
    creator_ref: z.number().int().optional().describe('The id of the user or robot that made it.'),
    creation_time: timestamp,
    update_time: timestamp,
    last_used_time: timestamp.nullable().describe('minato: when it last signed in.'),
    last_used_from: z.string().nullable().describe('minato: the address it last signed in from.'),
  }),
);

const RobotCreate = model(
  'RobotCreate',
  z.object({
    name: z.string().min(1).max(255).describe('Lowercase letters and digits, separated by single ".", "_" or "-".'),
    description: z.string().max(1024).optional(),
    secret: z.string().max(128).optional().describe('Your own secret (8 to 128 characters with upper, lower and digit); generated when absent.'),
    level,
    disable: z.boolean().optional(),
    duration,
    permissions: z.array(RobotPermissionModel).min(1).max(100),
  }),
);

const RobotCreated = model(
  'RobotCreated',
  z.object({
    id: z.number().int(),
    name: z.string(),
    secret: z.string().describe('Shown only this once: keep it (only its hash is stored).'),
    creation_time: timestamp,
    expires_at: z.number().int(),
  }),
);

const RobotUpdate = model(
  'RobotUpdate',
  z.object({
    name: z.string().optional().describe('Cannot change: when given, it must be the robot\'s.'),
    level: level.optional().describe('Cannot change: when given, it must be the robot\'s.'),
    description: z.string().max(1024).optional(),
    duration: duration.optional(),
    disable: z.boolean().optional(),
    permissions: z.array(RobotPermissionModel).min(1).max(100).optional(),
  }).describe("Harbor's PUT takes the whole Robot; here the fields given are changed (id, editable, times and the like are ignored)."),
);

const RobotSec = model(
  'RobotSec',
  z.object({
    secret: z.string().max(128).describe('"": generate one; else your own (8 to 128 characters with upper, lower and digit).'),
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_GRACE_SECONDS)
      .optional()
      .describe(`minato: how long the old secret keeps working (0 to ${MAX_SECRET_GRACE_SECONDS}; default 0, at once), so clients can be moved without an outage.`),
  }),
);

/** The refresh request: Harbor's clients send {} (or {"secret": ""}) to have one generated. */
const RobotSecReq = model(
  'RobotSecReq',
  z.object({
    secret: z.string().max(128).optional().describe('Absent or "": generate one; else your own (8 to 128 characters with upper, lower and digit).'),
    grace_seconds: RobotSec.shape.grace_seconds,
  }),
);

const PullSecretReq = model(
  'PullSecretReq',
  z.object({
    secret: z.string().min(1).max(128).describe("The robot's current secret (the registry keeps only its hash)."),
    format: z.enum(['dockerconfigjson', 'kubernetes']).default('dockerconfigjson').describe('dockerconfigjson: a config.json for docker, podman, skopeo; kubernetes: a Secret of type kubernetes.io/dockerconfigjson.'),
    registry: z.string().min(1).max(255).optional().describe('host[:port] clients use in image names; default the registry\'s own.'),
    name: z.string().max(253).optional().describe('kubernetes: the Secret\'s name (default from the robot\'s).'),
    namespace: z.string().max(63).optional().describe('kubernetes: the Secret\'s namespace.'),
  }),
);

const Permissions = model(
  'Permissions',
  z.object({
    system: z.array(AccessModel.pick({ resource: true, action: true })),
    project: z.array(AccessModel.pick({ resource: true, action: true })),
  }).describe('What robots may be given at each level.'),
);

const ROBOT_FILTER = { Level: 'string', ProjectID: 'int', name: 'string' } as const;
const ROBOT_SORT = ['id', 'name', 'creation_time'] as const;

function robotModel(r: RobotRecord): z.input<typeof RobotModel> {
  return {
    id: r.id,
    name: ROBOT_PREFIX + r.name,
    description: r.description,
    level: r.projectId === 0 ? 'system' : 'project',
    duration: r.duration,
    editable: true,
    disable: r.disabled,
    expires_at: r.expiresAt === -1 ? -1 : Math.floor(r.expiresAt / 1000),
    permissions: r.permissions.map((p) => ({ ...p, access: p.access.map((a) => ({ ...a, effect: 'allow' })) })),
    ...(r.creatorId !== null ? { creator_ref: r.creatorId } : {}),
    creation_time: iso(r.createdAt),
    update_time: iso(r.updatedAt),
    last_used_time: r.lastUsedAt === null ? null : iso(r.lastUsedAt),
    last_used_from: r.lastUsedFrom,
  };
}

const catalogue = (kind: 'system' | 'project') =>
  Object.entries(ROBOT_ALLOWED[kind]).flatMap(([resource, actions]) => actions.map((action) => ({ resource, action })));

export function robotRoutes(deps: RobotRouteDeps): ApiRoute[] {
  const caller = async (ctx: ApiContext): Promise<RobotCaller> => ({ principal: ctx.caller.principal, actor: await deps.actor(ctx.caller.principal, ctx.address) });
  const robotIdParams = z.object({ robot_id: idParam('robot id') });

  const list = defineRoute({
    method: 'GET',
    path: '/robots',
    operationId: 'ListRobot',
    summary: 'List robot accounts',
    description:
      'q=Level=system (system administrators), q=Level=project,ProjectID=<id> (those with robot:list in the project), or no Level: every robot (system administrators); name=~part filters by name. sort= by id, name, creation_time.',
    tag: 'robot',
    access: access.signedIn(),
    query: z.object({ ...pagingQuery, q: z.string().optional(), sort: z.string().optional() }),
    responses: { 200: listResponse('A page of robots.', RobotModel) },
    errors: [404],
    handler: async ({ query }, ctx) => {
      const filter = parseQ(query.q, ROBOT_FILTER);
      const sort = parseSort(query.sort, ROBOT_SORT);
      const lv = filter.Level;
      if (lv && (lv.op !== 'eq' || (lv.value !== 'system' && lv.value !== 'project'))) throw new ApiError('BAD_REQUEST', 'q: Level is "system" or "project"');
      const pid = filter.ProjectID;
      if (pid && pid.op !== 'eq') throw new ApiError('BAD_REQUEST', 'q: ProjectID takes one id (ProjectID=3)');
      if (pid && lv?.op === 'eq' && lv.value === 'system') throw new ApiError('BAD_REQUEST', 'q: system robots belong to no project; drop ProjectID');
      let robots = await deps.robots.list(ctx.caller.principal, {
        level: pid ? 'project' : (lv?.op === 'eq' ? (lv.value as 'system' | 'project') : undefined),
        projectId: pid?.op === 'eq' ? pid.value : undefined,
      });
      const name = filter.name;
      if (name?.op === 'eq') robots = robots.filter((r) => ROBOT_PREFIX + r.name === name.value || r.name === name.value);
      else if (name?.op === 'fuzzy') robots = robots.filter((r) => r.name.toLowerCase().includes(name.value.toLowerCase()));
      else if (name) throw new ApiError('BAD_REQUEST', 'q: name takes name=value or name=~part');
      for (const key of [...sort].reverse()) {
        const pick = (r: RobotRecord) => (key.field === 'id' ? r.id : key.field === 'name' ? r.name : r.createdAt);
        robots = [...robots].sort((a, b) => (pick(a) < pick(b) ? -1 : pick(a) > pick(b) ? 1 : 0) * (key.desc ? -1 : 1));
      }
      const page = pageOf(query);
      const start = (page.page - 1) * page.pageSize;
      return listed(ctx, robots.slice(start, start + page.pageSize).map(robotModel), robots.length, page);
    },
  });

  const create = defineRoute({
    method: 'POST',
    path: '/robots',
    operationId: 'CreateRobot',
    summary: 'Create a robot account',
    description:
      'System robots: system administrators. Project robots (one permission of kind project naming the project): robot:create in the project. A robot creating a robot gives it only permissions it holds itself. The secret is in the answer, once.',
    tag: 'robot',
    access: access.signedIn(),
    body: RobotCreate,
    responses: { 201: { description: 'Created, with its secret (shown once).', schema: RobotCreated, headers: { Location: { description: 'The URL of the robot.', schema: z.string(), required: true } } } },
    errors: [404, 409],
    handler: async ({ body }, ctx) => {
      const created = await deps.robots.create(await caller(ctx), {
        ...body,
        // Harbor's `effect` is dropped where the use case checks the list (core/projects.ts).
        permissions: body.permissions,
      });
      const r = created.robot;
      return respond(
        201,
        { id: r.id, name: created.loginName, secret: created.secret, creation_time: iso(r.createdAt), expires_at: r.expiresAt === -1 ? -1 : Math.floor(r.expiresAt / 1000) },
        { Location: `${API_BASE}/robots/${r.id}` },
      );
    },
  });

  const get = defineRoute({
    method: 'GET',
    path: '/robots/{robot_id}',
    operationId: 'GetRobotByID',
    summary: 'A robot account',
    description: 'robot:read where the robot lives (a system administrator for system robots).',
    tag: 'robot',
    access: access.signedIn(),
    params: robotIdParams,
    responses: { 200: { description: 'The robot (never its secret).', schema: RobotModel } },
    errors: [404],
    handler: async ({ params }, ctx) => respond(200, robotModel(await deps.robots.get(ctx.caller.principal, params.robot_id))),
  });

  const update = defineRoute({
    method: 'PUT',
    path: '/robots/{robot_id}',
    operationId: 'UpdateRobot',
    summary: 'Change a robot account',
    description: 'Description, duration (counted from its creation), disable, permissions; name and level cannot change. robot:update where it lives.',
    tag: 'robot',
    access: access.signedIn(),
    params: robotIdParams,
    body: RobotUpdate,
    responses: { 200: { description: 'Changed.' } },
    errors: [404],
    handler: async ({ params, body }, ctx) => {
      const who = await caller(ctx);
      const current = await deps.robots.get(who.principal, params.robot_id);
      if (body.name !== undefined && body.name !== ROBOT_PREFIX + current.name && body.name !== current.name) throw new ApiError('BAD_REQUEST', 'a robot\'s name cannot change: create another robot');
      if (body.level !== undefined && body.level !== (current.projectId === 0 ? 'system' : 'project')) throw new ApiError('BAD_REQUEST', 'a robot\'s level cannot change: create another robot');
      await deps.robots.update(who, params.robot_id, {
        description: body.description,
        duration: body.duration,
        disable: body.disable,
        permissions: body.permissions,
      });
      return respond(200, undefined);
    },
  });

  const refresh = defineRoute({
    method: 'PATCH',
    path: '/robots/{robot_id}',
    operationId: 'RefreshSec',
    summary: "Refresh a robot's secret",
    description: '{"secret": ""} generates one. minato: grace_seconds keeps the old secret valid that long. robot:update where it lives, or the robot itself.',
    tag: 'robot',
    access: access.signedIn(),
    params: robotIdParams,
    body: RobotSecReq,
    responses: { 200: { description: 'The new secret, shown once.', schema: RobotSec } },
    errors: [404],
    handler: async ({ params, body }, ctx) => {
      const secret = await deps.robots.refresh(await caller(ctx), params.robot_id, body.secret === '' ? undefined : body.secret, body.grace_seconds ?? 0);
      return respond(200, { secret });
    },
  });

  const remove = defineRoute({
    method: 'DELETE',
    path: '/robots/{robot_id}',
    operationId: 'DeleteRobot',
    summary: 'Delete a robot account',
    description: 'It signs in to nothing from then on. robot:delete where it lives.',
    tag: 'robot',
    access: access.signedIn(),
    params: robotIdParams,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404],
    handler: async ({ params }, ctx) => {
      await deps.robots.delete(await caller(ctx), params.robot_id);
      return respond(200, undefined);
    },
  });

  const pullSecret = defineRoute({
    method: 'POST',
    path: '/robots/{robot_id}/pullsecret',
    operationId: 'GetRobotPullSecret',
    summary: 'A pull secret for a robot (minato extension)',
    description:
      'A docker config.json or a Kubernetes imagePullSecret with the robot\'s credentials. The registry keeps only a hash of the secret, so the request carries it; it must be the current one (403 otherwise). robot:read where it lives. Nothing is stored.',
    tag: 'robot',
    access: access.signedIn(),
    params: robotIdParams,
    body: PullSecretReq,
    responses: { 200: { description: 'The config.json or the Secret manifest (JSON, which kubectl applies as it does YAML).', schema: z.record(z.string(), z.unknown()) } },
    errors: [404],
    handler: async ({ params, body }, ctx) => {
      const registry = body.registry ?? new URL(deps.origin(ctx.request)).host;
      return respond(200, await deps.robots.pullSecret(ctx.caller.principal, params.robot_id, body.secret, { registry, format: body.format, name: body.name, namespace: body.namespace }));
    },
  });

  const permissions = defineRoute({
    method: 'GET',
    path: '/permissions',
    operationId: 'GetPermissions',
    summary: 'What robots may be given',
    description: 'The resource/action pairs a system robot and a project robot may hold (anything else is refused with 400).',
    tag: 'permissions',
    access: access.signedIn(),
    responses: { 200: { description: 'The catalogue.', schema: Permissions } },
    handler: async () => respond(200, { system: catalogue('system'), project: catalogue('project') }),
  });

  return [list, create, get, update, refresh, remove, pullSecret, permissions];
}
