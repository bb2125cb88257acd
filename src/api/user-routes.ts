// Harbor's user endpoints (/users...): list, search, create, read, profile, password, the
// administrator flag, delete; the caller's permissions at a scope (users/current/permissions);
// and minato's CLI tokens (users/current/cli-tokens, what `minato login` makes). Handlers parse,
// call one use case (core/users.ts, auth/cli-tokens.ts) and shape Harbor's models.
import { z } from 'zod';
import type { CliTokens } from '../auth/cli-tokens.js';
import type { Principal } from '../auth/policy.js';
import { projectPermissions, ROBOT_ALLOWED } from '../auth/rbac.js';
import { USER_FILTER_FIELDS, USER_SORT_FIELDS, type UserRecord } from '../auth/user-directory.js';
import type { Asker, Users } from '../core/users.js';
import type { Actor } from '../events/events.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { parseQ, parseSort } from './query.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';
import { UserResp } from './system-routes.js';

export interface UserRouteDeps {
  users: Users;
  cliTokens: CliTokens;
  /** The event actor of a principal (with its stable id). */
  actor(principal: Principal, address?: string): Promise<Actor>;
  /** A project's name by id (for permission scopes), undefined when there is none. */
  projectName(id: number): Promise<string | undefined>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const idParam = (what: string) =>
  z.coerce.number({ error: `${what} must be a whole number` }).int(`${what} must be a whole number`).min(1, `${what} must be at least 1`).max(2 ** 53 - 1).describe(`The ${what}.`);

const profileFields = {
  email: z.string().max(255).optional().describe('The email address (optional here, unlike Harbor).'),
  realname: z.string().max(255).optional().describe('The full name.'),
  comment: z.string().max(255).optional(),
};

const UserCreationReq = model(
  'UserCreationReq',
  z.object({
    username: z.string().min(1).max(255).describe('1 to 255 characters; not starting with "robot$", without spaces or any of , ~ # $ % :'),
    password: z.string().max(128).describe('8 to 128 characters with an uppercase letter, a lowercase letter and a digit.'),
    ...profileFields,
  }),
);

const UserProfileModel = model('UserProfile', z.object(profileFields).describe('The fields given are changed; the others are kept.'));

const PasswordReq = model(
  'PasswordReq',
  z.object({
    old_password: z.string().max(128).optional().describe('Needed to change your own password (administrators too); not for an administrator changing another user\'s.'),
    new_password: z.string().max(128),
  }),
);

const UserSysAdminFlag = model('UserSysAdminFlag', z.object({ sysadmin_flag: z.boolean() }));

const UserSearchRespItem = model('UserSearchRespItem', z.object({ user_id: z.number().int(), username: z.string() }));

const PermissionModel = model('Permission', z.object({ resource: z.string(), action: z.string() }));

const CliTokenReq = model(
  'CliTokenReq',
  z.object({
    description: z.string().max(255).default('').describe('What the token is for ("laptop", "ci").'),
    days: z.number().int().min(1).max(365).default(30).describe('Days until the token expires, 1 to 365.'),
  }),
);

const CliTokenModel = model(
  'CliToken',
  z.object({
    id: z.number().int(),
    description: z.string(),
    creation_time: timestamp,
    expires_at: timestamp,
    last_used_time: timestamp.nullable(),
  }),
);

const CliTokenCreated = model(
  'CliTokenCreated',
  z.object({
    id: z.number().int(),
    description: z.string(),
    token: z.string().describe('Shown only this once: send it as the password of Basic credentials, with your user name.'),
    creation_time: timestamp,
    expires_at: timestamp,
  }),
);

const locationHeader = { Location: { description: 'The URL of what was created.', schema: z.string(), required: true } };

/** Harbor's UserResp of a user (the admin flag as AccessControl sees it: the column or auth.admins). */
export function userResp(u: UserRecord, ctx: Pick<ApiContext, 'access'>): z.input<typeof UserResp> {
  return {
    user_id: u.id,
    username: u.name,
    email: u.email,
    realname: u.realname,
    comment: u.comment,
    sysadmin_flag: ctx.access.isSysAdmin({ user: u.name }),
    admin_role_in_auth: false,
    creation_time: iso(u.createdAt),
    update_time: iso(u.updatedAt),
  };
}

/** The resource:action pairs a permission scope can hold. */
function scopePairs(scope: 'system' | 'project'): Array<{ resource: string; action: string }> {
  const pairs = new Set<string>(Object.entries(ROBOT_ALLOWED[scope]).flatMap(([r, actions]) => actions.map((a) => `${r}:${a}`)));
  if (scope === 'project') for (const p of projectPermissions()) pairs.add(p);
  return [...pairs].sort().map((p) => {
    const colon = p.lastIndexOf(':');
    return { resource: p.slice(0, colon), action: p.slice(colon + 1) };
  });
}

const SCOPE = /^\/(system|project\/([1-9]\d{0,15}))$/;

export function userRoutes(deps: UserRouteDeps): ApiRoute[] {
  const asker = async (ctx: ApiContext, action: string): Promise<Asker> => ({
    principal: ctx.caller.principal,
    admin: ctx.access.canSystem(ctx.caller.principal, 'user', action),
    actor: await deps.actor(ctx.caller.principal, ctx.address),
  });
  const notRobot = (ctx: ApiContext, what: string) => {
    const { principal } = ctx.caller;
    if (principal.robot) throw new ApiError('PRECONDITION', `${principal.user} is a robot account: robots have no ${what}`);
    return principal.user!;
  };

  const list = defineRoute({
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'List users',
    description: 'q= filters by username and email (k=~v for a part, ignoring case); sort= by username, email, creation_time, user_id. With auth.htpasswd, the users the registry has seen sign in.',
    tag: 'user',
    access: access.system('user', 'list'),
    query: z.object({ ...pagingQuery, q: z.string().optional().describe('Harbor\'s query: username=~ali,email=~example.com'), sort: z.string().optional() }),
    responses: { 200: listResponse('A page of users.', UserResp) },
    handler: async ({ query }, ctx) => {
      const page = pageOf(query);
      const { items, total } = await deps.users.list({ filter: parseQ(query.q, USER_FILTER_FIELDS), sort: parseSort(query.sort, USER_SORT_FIELDS), page });
      return listed(ctx, items.map((u) => userResp(u, ctx)), total, page);
    },
  });

  const search = defineRoute({
    method: 'GET',
    path: '/users/search',
    operationId: 'searchUsers',
    summary: 'Search users by name',
    description: 'For adding members: any signed-in user may search; only ids and names are returned.',
    tag: 'user',
    access: access.signedIn(),
    query: z.object({ ...pagingQuery, username: z.string().min(1).max(255).describe('Part of the user name (ignoring case).') }),
    responses: { 200: listResponse('A page of matching users.', UserSearchRespItem) },
    handler: async ({ query }, ctx) => {
      const page = pageOf(query);
      const { items, total } = await deps.users.list({ filter: { username: { op: 'fuzzy', value: query.username } }, sort: [{ field: 'username', desc: false }], page });
      return listed(ctx, items.map((u) => ({ user_id: u.id, username: u.name })), total, page);
    },
  });

  const create = defineRoute({
    method: 'POST',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a user',
    description: 'With auth.htpasswd: 412 (users come from the file).',
    tag: 'user',
    access: access.system('user', 'create'),
    body: UserCreationReq,
    responses: { 201: { description: 'Created; Location names it.', headers: locationHeader } },
    errors: [409, 412],
    handler: async ({ body }, ctx) => {
      const user = await deps.users.create(body, await deps.actor(ctx.caller.principal, ctx.address));
      return respond(201, undefined, { Location: `${API_BASE}/users/${user.id}` });
    },
  });

  const userIdParams = z.object({ user_id: idParam('user id') });

  const get = defineRoute({
    method: 'GET',
    path: '/users/{user_id}',
    operationId: 'getUser',
    summary: 'A user',
    description: 'Yourself, or anyone for administrators (others get 404, as for an id that does not exist).',
    tag: 'user',
    access: access.signedIn(),
    params: userIdParams,
    responses: { 200: { description: 'The user.', schema: UserResp } },
    errors: [404],
    handler: async ({ params }, ctx) => respond(200, userResp(await deps.users.visibleTo(await asker(ctx, 'read'), params.user_id), ctx)),
  });

  const update = defineRoute({
    method: 'PUT',
    path: '/users/{user_id}',
    operationId: 'updateUserProfile',
    summary: "Change a user's profile",
    description: 'Yourself, or anyone for administrators.',
    tag: 'user',
    access: access.signedIn(),
    params: userIdParams,
    body: UserProfileModel,
    responses: { 200: { description: 'Changed.' } },
    errors: [404, 412],
    handler: async ({ params, body }, ctx) => {
      await deps.users.updateProfile(await asker(ctx, 'update'), params.user_id, body);
      return respond(200, undefined);
    },
  });

  const remove = defineRoute({
    method: 'DELETE',
    path: '/users/{user_id}',
    operationId: 'deleteUser',
    summary: 'Delete a user',
    description: 'Its memberships, CLI tokens and UI sessions end with it, at once; not yourself.',
    tag: 'user',
    access: access.system('user', 'delete'),
    params: userIdParams,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404, 412],
    handler: async ({ params }, ctx) => {
      await deps.users.delete(await asker(ctx, 'delete'), params.user_id);
      return respond(200, undefined);
    },
  });

  const password = defineRoute({
    method: 'PUT',
    path: '/users/{user_id}/password',
    operationId: 'updateUserPassword',
    summary: "Set a user's password",
    description: 'Your own with old_password; an administrator sets another user\'s without it.',
    tag: 'user',
    access: access.signedIn(),
    params: userIdParams,
    body: PasswordReq,
    responses: { 200: { description: 'Changed.' } },
    errors: [404, 412],
    handler: async ({ params, body }, ctx) => {
      await deps.users.changePassword(await asker(ctx, 'update'), params.user_id, body.old_password, body.new_password);
      return respond(200, undefined);
    },
  });

  const sysadmin = defineRoute({
    method: 'PUT',
    path: '/users/{user_id}/sysadmin',
    operationId: 'setUserSysAdmin',
    summary: 'Make a user a system administrator, or not',
    description: 'Not your own flag away. auth.admins are administrators whatever the flag says.',
    tag: 'user',
    access: access.system('user', 'update'),
    params: userIdParams,
    body: UserSysAdminFlag,
    responses: { 200: { description: 'Changed.' } },
    errors: [404, 412],
    handler: async ({ params, body }, ctx) => {
      await deps.users.setSysadmin(await asker(ctx, 'update'), params.user_id, body.sysadmin_flag);
      return respond(200, undefined);
    },
  });

  const permissions = defineRoute({
    method: 'GET',
    path: '/users/current/permissions',
    operationId: 'getCurrentUserPermissions',
    summary: 'What the caller may do at a scope',
    description: 'scope=/system or /project/{project_id}; relative=true gives resources relative to the scope ("repository"), else with it ("/project/1/repository").',
    tag: 'user',
    access: access.signedIn(),
    query: z.object({
      scope: z.string().regex(SCOPE, 'scope is /system or /project/{project_id}').default('/system'),
      relative: z.enum(['true', 'false']).default('false'),
    }),
    responses: { 200: { description: 'The resource/action pairs the caller holds there.', schema: z.array(PermissionModel) } },
    handler: async ({ query }, ctx) => {
      const [, kind, id] = SCOPE.exec(query.scope)!;
      const { principal } = ctx.caller;
      let held: Array<{ resource: string; action: string }>;
      if (kind === 'system') held = scopePairs('system').filter((p) => ctx.access.canSystem(principal, p.resource, p.action));
      else {
        const project = await deps.projectName(Number(id));
        held = project === undefined ? [] : scopePairs('project').filter((p) => ctx.access.can(principal, project, p.resource, p.action));
      }
      const prefix = query.relative === 'true' ? '' : `${query.scope}/`;
      return respond(200, held.map((p) => ({ resource: prefix + p.resource, action: p.action })));
    },
  });

  const tokenOut = (r: { id: number; description: string; createdAt: number; expiresAt: number; lastUsedAt: number | null }) => ({
    id: r.id,
    description: r.description,
    creation_time: iso(r.createdAt),
    expires_at: iso(r.expiresAt),
    last_used_time: r.lastUsedAt === null ? null : iso(r.lastUsedAt),
  });

  const createToken = defineRoute({
    method: 'POST',
    path: '/users/current/cli-tokens',
    operationId: 'createCliToken',
    summary: 'Make a CLI token (minato extension)',
    description: 'What `minato login` stores instead of your password: send it as the password of Basic credentials. Shown once; never more than its user may do; robots have none (412).',
    tag: 'user',
    access: access.signedIn(),
    body: CliTokenReq,
    responses: { 201: { description: 'The token, shown once.', schema: CliTokenCreated, headers: locationHeader } },
    errors: [412],
    handler: async ({ body }, ctx) => {
      const user = notRobot(ctx, 'CLI tokens (their secret is their credential)');
      const { token, record } = await deps.cliTokens.create(user, body.description, body.days);
      const { last_used_time: _l, ...out } = tokenOut(record);
      return respond(201, { ...out, token }, { Location: `${API_BASE}/users/current/cli-tokens/${record.id}` });
    },
  });

  const listTokens = defineRoute({
    method: 'GET',
    path: '/users/current/cli-tokens',
    operationId: 'listCliTokens',
    summary: "The caller's CLI tokens (minato extension)",
    description: 'Without their secrets.',
    tag: 'user',
    access: access.signedIn(),
    responses: { 200: { description: 'The tokens.', schema: z.array(CliTokenModel) } },
    errors: [412],
    handler: async (_input, ctx) => respond(200, (await deps.cliTokens.list(notRobot(ctx, 'CLI tokens'))).map(tokenOut)),
  });

  const deleteToken = defineRoute({
    method: 'DELETE',
    path: '/users/current/cli-tokens/{token_id}',
    operationId: 'deleteCliToken',
    summary: 'Revoke one of your CLI tokens (minato extension)',
    description: 'It stops working at once (`minato logout` calls this).',
    tag: 'user',
    access: access.signedIn(),
    params: z.object({ token_id: idParam('token id') }),
    responses: { 200: { description: 'Revoked.' } },
    errors: [404, 412],
    handler: async ({ params }, ctx) => {
      await deps.cliTokens.revoke(notRobot(ctx, 'CLI tokens'), { id: params.token_id });
      return respond(200, undefined);
    },
  });

  return [list, search, create, get, update, remove, password, sysadmin, permissions, createToken, listTokens, deleteToken];
}
