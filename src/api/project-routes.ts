// Harbor's project endpoints: projects (list, exists, create, get, update, delete, deletable,
// summary), their members and their metadata. Handlers parse, call one use case (core/projects.ts,
// core/project-catalog.ts) and shape Harbor's models (api/v2.0/swagger.yaml: Project, ProjectReq,
// ProjectSummary, ProjectDeletable, ProjectMemberEntity, ProjectMember, RoleRequest).
import { z } from 'zod';
import type { ProjectRecord } from '../auth/access-store.js';
import type { Principal } from '../auth/policy.js';
import { PROJECT_FILTER_FIELDS, PROJECT_SORT_FIELDS, type ProjectListItem } from '../auth/project-queries.js';
import { ROLE_DISPLAY, ROLES, type RoleId } from '../auth/rbac.js';
import type { ProjectCatalog } from '../core/project-catalog.js';
import type { Projects } from '../core/projects.js';
import { invalid, notFound } from '../util/domain-error.js';
import type { AllowlistStore } from '../scan/allowlist.js';
import { allowlistBody, allowlistFromBody, CveAllowlistModel } from './allowlist-routes.js';
import { access, type ProjectOf } from './access.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { isResourceNameHeader, projectNameOrIdParam, projectNameParam, projectRef } from './params.js';
import { parseQ, parseSort } from './query.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';

export interface ProjectRoutesDeps {
  projects: Projects;
  catalog: ProjectCatalog;
  /** The role a user holds in a project (undefined: none). */
  roleOf(principal: Principal, project: string): RoleId | undefined;
  isSysAdmin(principal: Principal): boolean;
  /** Whether a user of this name exists (a member must be one). */
  userExists(name: string): Promise<boolean>;
  /** Projects' CVE allowlists (Harbor's cve_allowlist in the project body). */
  allowlists: Pick<AllowlistStore, 'get' | 'put'>;
}

const iso = (ms: number) => new Date(ms).toISOString();

const ProjectMetadata = model(
  'ProjectMetadata',
  z.record(z.string(), z.string()).describe('Harbor\'s project metadata: string values ("public": "true" or "false", "auto_scan", "severity"...).'),
);

const Project = model(
  'Project',
  z.object({
    project_id: z.number().int(),
    owner_id: z.number().int().describe('The id of the user who created it (0: created by the system).'),
    name: z.string(),
    registry_id: z.number().int().nullable().describe('Proxy cache projects only: never here.'),
    creation_time: timestamp,
    update_time: timestamp,
    deleted: z.boolean(),
    owner_name: z.string(),
    togglable: z.boolean().describe('Whether the caller may make the project public or private.'),
    current_user_role_id: z.number().int().describe("The caller's role (1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest; 0 none). System admins count as project admins."),
    current_user_role_ids: z.array(z.number().int()),
    repo_count: z.number().int().optional().describe('Repositories holding at least one artifact (absent with with_detail=false).'),
    metadata: ProjectMetadata,
    cve_allowlist: CveAllowlistModel.optional().describe('The project\'s own CVE allowlist, used when metadata reuse_sys_cve_allowlist is "false" (single project reads only).'),
  }),
);

const ProjectReq = model(
  'ProjectReq',
  z
    .object({
      project_name: z.string().max(255).optional().describe('The name (creation only): lowercase letters and digits separated by single ".", "_" or "-".'),
      public: z.boolean().nullable().optional().describe('Deprecated in Harbor: use metadata.public.'),
      metadata: z.record(z.string(), z.string()).optional(),
      storage_limit: z.number().int().min(-1).nullable().optional().describe('Bytes; -1 unlimited (creation only; change it through the quota API).'),
      registry_id: z.number().int().nullable().optional().describe('Proxy cache projects are not supported: must be absent or null.'),
      cve_allowlist: CveAllowlistModel.optional().describe('Replaces the project\'s own CVE allowlist (applied when metadata reuse_sys_cve_allowlist is "false").'),
    })
    .strict(),
);

const RoleCounts = {
  project_admin_count: z.number().int(),
  maintainer_count: z.number().int(),
  developer_count: z.number().int(),
  guest_count: z.number().int(),
  limited_guest_count: z.number().int(),
};

const ProjectSummary = model(
  'ProjectSummary',
  z.object({
    repo_count: z.number().int(),
    ...RoleCounts,
    quota: z.object({ hard: z.object({ storage: z.number().int() }), used: z.object({ storage: z.number().int() }).optional() }).optional().describe('storage in bytes; -1 unlimited.'),
  }),
);

const ProjectDeletable = model('ProjectDeletable', z.object({ deletable: z.boolean(), message: z.string().optional().describe('Why not.') }));

const ProjectMemberEntity = model(
  'ProjectMemberEntity',
  z.object({
    id: z.number().int().describe("The member's id in this project (the principal's id)."),
    project_id: z.number().int(),
    entity_name: z.string(),
    role_name: z.string(),
    role_id: z.number().int(),
    entity_id: z.number().int(),
    entity_type: z.enum(['u', 'g']).describe('u: a user (groups are not supported).'),
  }),
);

const roleId = z.number().int().min(1).max(5).describe('1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest.');

const ProjectMember = model(
  'ProjectMember',
  z.object({
    role_id: roleId,
    member_user: z.object({ user_id: z.number().int().optional(), username: z.string().min(1).max(255).optional() }).optional(),
    member_group: z.unknown().optional().describe('Groups are not supported: a request with one is refused.'),
  }),
);

const RoleRequest = model('RoleRequest', z.object({ role_id: roleId }));

const projectParams = z.object({ project_name_or_id: projectNameOrIdParam });
const memberParams = z.object({ project_name_or_id: projectNameOrIdParam, mid: z.coerce.number().int().min(1).describe("The member's id.") });
const metaKey = z.string().min(1).max(64).describe('The metadata key.');
const metaParams = z.object({ project_name_or_id: projectNameOrIdParam, meta_name: metaKey });
const headers = z.object(isResourceNameHeader);
const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

type WithProject = { params: { project_name_or_id: string }; headers: { 'X-Is-Resource-Name'?: 'true' | 'false' } };

export function projectRoutes(deps: ProjectRoutesDeps): ApiRoute[] {
  const { projects, catalog } = deps;

  /** The project a request names, by name or id. */
  const find = (input: WithProject): Promise<ProjectRecord> => {
    const ref = projectRef(input.params.project_name_or_id, input.headers['X-Is-Resource-Name']);
    return projects.project('id' in ref ? ref.id : ref.name);
  };
  /** The access rules' view: the project's name, undefined when there is none. */
  const named: ProjectOf<WithProject> = async (input) => {
    const ref = projectRef(input.params.project_name_or_id, input.headers['X-Is-Resource-Name']);
    if ('name' in ref) return ref.name;
    return (await projects.store.getProject(ref.id))?.name;
  };
  const actor = (ctx: ApiContext) => projects.actor(ctx.caller.principal, ctx.address);

  const roleIds = (principal: Principal, project: string): number[] => {
    if (deps.isSysAdmin(principal)) return [ROLES.projectAdmin];
    const role = deps.roleOf(principal, project);
    return role === undefined ? [] : [role];
  };

  const projectModel = (p: ProjectListItem, ctx: ApiContext, repoCount?: number): z.input<typeof Project> => {
    const ids = roleIds(ctx.caller.principal, p.name);
    return {
      project_id: p.id,
      owner_id: p.ownerId ?? 0,
      name: p.name,
      registry_id: null,
      creation_time: iso(p.createdAt),
      update_time: iso(p.updatedAt || p.createdAt),
      deleted: false,
      owner_name: p.ownerName ?? '',
      togglable: ctx.access.can(ctx.caller.principal, p.name, 'metadata', 'update'),
      current_user_role_id: ids[0] ?? 0,
      current_user_role_ids: ids,
      ...(repoCount !== undefined ? { repo_count: repoCount } : {}),
      metadata: p.metadata,
    };
  };

  const memberModel = (m: { projectId: number; principalId: number; name: string; roleId: RoleId }): z.input<typeof ProjectMemberEntity> => ({
    id: m.principalId,
    project_id: m.projectId,
    entity_name: m.name,
    role_name: ROLE_DISPLAY[m.roleId],
    role_id: m.roleId,
    entity_id: m.principalId,
    entity_type: 'u',
  });

  const list = defineRoute({
    method: 'GET',
    path: '/projects',
    operationId: 'listProjects',
    summary: 'List projects',
    description: 'Public projects and those the caller is a member of (system admins: all; robots: those their permissions name, and the public ones; anonymous clients: the public ones, with auth.anonymousPull).',
    tag: 'project',
    access: access.public(),
    query: z.object({
      name: z.string().max(255).optional().describe('Only the project of exactly this name.'),
      public: boolQuery.optional().describe('Only public (true) or private (false) projects.'),
      owner: z.string().max(255).optional().describe('Only projects created by this user.'),
      with_detail: boolQuery.default(true).describe('false: leave out repo_count (cheaper).'),
      q: z.string().optional().describe(`Harbor's query: ${Object.keys(PROJECT_FILTER_FIELDS).join(', ')}.`),
      sort: z.string().optional().describe(`Fields to sort by (${PROJECT_SORT_FIELDS.join(', ')}), "-" for descending; then by name.`),
      ...pagingQuery,
    }),
    responses: { 200: listResponse('A page of projects.', Project) },
    handler: async ({ query }, ctx) => {
      const filter = { ...parseQ(query.q, PROJECT_FILTER_FIELDS) };
      if (query.name !== undefined) {
        if (filter.name) throw invalid('name is given both as a parameter and in q');
        filter.name = { op: 'eq', value: query.name };
      }
      if (query.public !== undefined) {
        if (filter.public) throw invalid('public is given both as a parameter and in q');
        filter.public = { op: 'eq', value: query.public };
      }
      const page = pageOf(query);
      const { items, total, repoCounts } = await catalog.list(ctx.caller.principal, {
        filter,
        sort: parseSort(query.sort, PROJECT_SORT_FIELDS),
        page,
        owner: query.owner,
        withRepoCounts: query.with_detail,
      });
      return listed(ctx, items.map((p) => projectModel(p, ctx, query.with_detail ? (repoCounts.get(p.name) ?? 0) : undefined)), total, page);
    },
  });

  const head = defineRoute({
    method: 'HEAD',
    path: '/projects',
    operationId: 'headProject',
    summary: 'Whether a project name is taken',
    tag: 'project',
    access: access.signedIn(),
    query: z.object({ project_name: projectNameParam }),
    responses: { 200: { description: 'A project of that name exists.' } },
    errors: [404],
    handler: async ({ query }) => {
      if (!(await catalog.queries.exists(query.project_name))) throw notFound(`project ${query.project_name} does not exist`);
      return respond(200, undefined);
    },
  });

  const create = defineRoute({
    method: 'POST',
    path: '/projects',
    operationId: 'createProject',
    summary: 'Create a project',
    description: 'Who may: projects.creationRestriction ("everyone": any signed-in user, who becomes its Project Admin; "adminonly": system admins).',
    tag: 'project',
    access: access.system('project', 'create'),
    body: ProjectReq,
    responses: { 201: { description: 'Created.', headers: { Location: { description: 'The new project (/api/v2.0/projects/{id}).', schema: z.string(), required: true } } } },
    errors: [409],
    handler: async ({ body }, ctx) => {
      if (!body.project_name) throw invalid('project_name is required');
      if (body.registry_id != null) throw invalid('proxy cache projects (registry_id) are not supported');
      const project = await projects.create(
        { name: body.project_name, public: body.public ?? undefined, metadata: body.metadata, storageLimit: body.storage_limit ?? undefined },
        ctx.caller.principal,
        await actor(ctx),
      );
      if (body.cve_allowlist) await deps.allowlists.put(allowlistFromBody(project.id, body.cve_allowlist), await actor(ctx), project.name);
      return respond(201, undefined, { Location: `${API_BASE}/projects/${project.id}` });
    },
  });

  const get = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}',
    operationId: 'getProject',
    summary: 'A project',
    tag: 'project',
    access: access.project<WithProject>('project', 'read', named),
    params: projectParams,
    headers,
    responses: { 200: { description: 'The project.', schema: Project } },
    errors: [404],
    handler: async (input, ctx) => {
      const p = await catalog.withOwner(await find(input));
      return respond(200, { ...projectModel(p, ctx, await catalog.repoCount(p.name)), cve_allowlist: allowlistBody(await deps.allowlists.get(p.id)) });
    },
  });

  const update = defineRoute({
    method: 'PUT',
    path: '/projects/{project_name_or_id}',
    operationId: 'updateProject',
    summary: "Change a project's metadata",
    description: 'metadata keys are merged into the present ones; "public" ("true"/"false", or the deprecated boolean) makes it public or private. The name cannot change; storage_limit changes through the quota API.',
    tag: 'project',
    access: access.project<WithProject>('project', 'update', named),
    params: projectParams,
    headers,
    body: ProjectReq,
    responses: { 200: { description: 'Updated.' } },
    errors: [404],
    handler: async (input, ctx) => {
      const project = await find(input);
      const { body } = input;
      if (body.project_name !== undefined && body.project_name !== project.name) throw invalid('a project cannot be renamed (project_name must be absent or its present name)');
      if (body.cve_allowlist) await deps.allowlists.put(allowlistFromBody(project.id, body.cve_allowlist), await actor(ctx), project.name);
      await catalog.setMetadata(project, { ...(body.metadata ?? {}), ...(body.public != null ? { public: String(body.public) } : {}) }, await actor(ctx));
      return respond(200, undefined);
    },
  });

  const remove = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name_or_id}',
    operationId: 'deleteProject',
    summary: 'Delete a project',
    description: 'Refused (409) while it holds repositories: delete them first. Its members and robots go with it.',
    tag: 'project',
    access: access.project<WithProject>('project', 'delete', named),
    params: projectParams,
    headers,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404, 409],
    handler: async (input, ctx) => {
      await projects.delete(await find(input), await actor(ctx));
      return respond(200, undefined);
    },
  });

  const deletable = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/_deletable',
    operationId: 'getProjectDeletableStatus',
    summary: 'Whether a project may be deleted now',
    tag: 'project',
    access: access.project<WithProject>('project', 'delete', named),
    params: projectParams,
    headers,
    responses: { 200: { description: 'Whether, and why not.', schema: ProjectDeletable } },
    errors: [404],
    handler: async (input) => respond(200, await catalog.deletable(await find(input))),
  });

  const summary = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/summary',
    operationId: 'getProjectSummary',
    summary: "A project's summary",
    description: 'Repositories, members per role, and the storage quota.',
    tag: 'project',
    access: access.project<WithProject>('project', 'read', named),
    params: projectParams,
    headers,
    responses: { 200: { description: 'The counts.', schema: ProjectSummary } },
    errors: [404],
    handler: async (input) => {
      const s = await catalog.summary(await find(input));
      const n = (role: RoleId) => s.members.get(role) ?? 0;
      return respond(200, {
        repo_count: s.repoCount,
        project_admin_count: n(ROLES.projectAdmin),
        maintainer_count: n(ROLES.maintainer),
        developer_count: n(ROLES.developer),
        guest_count: n(ROLES.guest),
        limited_guest_count: n(ROLES.limitedGuest),
        quota: { hard: { storage: s.storageLimit } },
      });
    },
  });

  // --- members ---

  const listMembers = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/members',
    operationId: 'listProjectMembers',
    summary: "A project's members",
    tag: 'member',
    access: access.project<WithProject>('member', 'list', named),
    params: projectParams,
    headers,
    query: z.object({ entityname: z.string().max(255).optional().describe('Only members whose name contains this (ignoring case).'), ...pagingQuery }),
    responses: { 200: listResponse('A page of members, by name.', ProjectMemberEntity) },
    errors: [404],
    handler: async (input, ctx) => {
      const page = pageOf(input.query);
      const { items, total } = await catalog.members(await find(input), input.query.entityname, page);
      return listed(ctx, items.map(memberModel), total, page);
    },
  });

  const addMember = defineRoute({
    method: 'POST',
    path: '/projects/{project_name_or_id}/members',
    operationId: 'createProjectMember',
    summary: 'Add a member',
    description: 'member_user names the user by username (or user_id). Robots are not members: give them permissions.',
    tag: 'member',
    access: access.project<WithProject>('member', 'create', named),
    params: projectParams,
    headers,
    body: ProjectMember,
    responses: { 201: { description: 'Added.', headers: { Location: { description: 'The new member (/api/v2.0/projects/{p}/members/{mid}).', schema: z.string(), required: true } } } },
    errors: [404, 409],
    handler: async (input, ctx) => {
      const { body } = input;
      if (body.member_group !== undefined) throw invalid('groups are not supported: add users (member_user)');
      let name = body.member_user?.username;
      if (name === undefined && body.member_user?.user_id !== undefined) name = await catalog.queries.userName(body.member_user.user_id);
      if (name === undefined) throw invalid('member_user.username (or a known member_user.user_id) is required');
      if (!(await deps.userExists(name))) throw notFound(`no user named ${name}`);
      const project = await find(input);
      const member = await projects.addMember(project, name, body.role_id, await actor(ctx));
      return respond(201, undefined, { Location: `${API_BASE}/projects/${project.id}/members/${member.principalId}` });
    },
  });

  const getMember = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/members/{mid}',
    operationId: 'getProjectMember',
    summary: 'A member',
    tag: 'member',
    access: access.project<WithProject>('member', 'read', named),
    params: memberParams,
    headers,
    responses: { 200: { description: 'The member.', schema: ProjectMemberEntity } },
    errors: [404],
    handler: async (input) => respond(200, memberModel(await catalog.member(await find(input), input.params.mid))),
  });

  const updateMember = defineRoute({
    method: 'PUT',
    path: '/projects/{project_name_or_id}/members/{mid}',
    operationId: 'updateProjectMember',
    summary: "Change a member's role",
    tag: 'member',
    access: access.project<WithProject>('member', 'update', named),
    params: memberParams,
    headers,
    body: RoleRequest,
    responses: { 200: { description: 'Updated.' } },
    errors: [404],
    handler: async (input, ctx) => {
      await projects.updateMember(await find(input), input.params.mid, input.body.role_id, await actor(ctx));
      return respond(200, undefined);
    },
  });

  const removeMember = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name_or_id}/members/{mid}',
    operationId: 'deleteProjectMember',
    summary: 'Remove a member',
    tag: 'member',
    access: access.project<WithProject>('member', 'delete', named),
    params: memberParams,
    headers,
    responses: { 200: { description: 'Removed.' } },
    errors: [404],
    handler: async (input, ctx) => {
      await projects.removeMember(await find(input), input.params.mid, await actor(ctx));
      return respond(200, undefined);
    },
  });

  // --- metadata ---

  const metadataBody = z.record(metaKey, z.string().max(1024)).describe('Keys and their string values.');

  const listMetadata = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/metadatas',
    operationId: 'listProjectMetadatas',
    summary: "A project's metadata",
    tag: 'projectMetadata',
    access: access.project<WithProject>('metadata', 'list', named),
    params: projectParams,
    headers,
    responses: { 200: { description: 'Every key.', schema: ProjectMetadata } },
    errors: [404],
    handler: async (input) => respond(200, (await find(input)).metadata),
  });

  const addMetadata = defineRoute({
    method: 'POST',
    path: '/projects/{project_name_or_id}/metadatas',
    operationId: 'addProjectMetadatas',
    summary: 'Add metadata',
    tag: 'projectMetadata',
    access: access.project<WithProject>('metadata', 'create', named),
    params: projectParams,
    headers,
    body: metadataBody,
    responses: { 200: { description: 'Added.' } },
    errors: [404],
    handler: async (input, ctx) => {
      await catalog.setMetadata(await find(input), input.body, await actor(ctx));
      return respond(200, undefined);
    },
  });

  const getMetadata = defineRoute({
    method: 'GET',
    path: '/projects/{project_name_or_id}/metadatas/{meta_name}',
    operationId: 'getProjectMetadata',
    summary: 'One metadata key',
    tag: 'projectMetadata',
    access: access.project<WithProject>('metadata', 'read', named),
    params: metaParams,
    headers,
    responses: { 200: { description: 'The key and its value.', schema: ProjectMetadata } },
    errors: [404],
    handler: async (input) => {
      const project = await find(input);
      const key = input.params.meta_name;
      if (!Object.hasOwn(project.metadata, key)) throw notFound(`project ${project.name} has no metadata "${key}"`);
      return respond(200, { [key]: project.metadata[key]! });
    },
  });

  const updateMetadata = defineRoute({
    method: 'PUT',
    path: '/projects/{project_name_or_id}/metadatas/{meta_name}',
    operationId: 'updateProjectMetadata',
    summary: 'Change one metadata key',
    description: 'The body is {"<meta_name>": "<value>"}, that key only.',
    tag: 'projectMetadata',
    access: access.project<WithProject>('metadata', 'update', named),
    params: metaParams,
    headers,
    body: metadataBody,
    responses: { 200: { description: 'Updated.' } },
    errors: [404],
    handler: async (input, ctx) => {
      const key = input.params.meta_name;
      const keys = Object.keys(input.body);
      if (keys.length !== 1 || keys[0] !== key) throw invalid(`the body must hold exactly the key ${key}`);
      await catalog.setMetadata(await find(input), input.body, await actor(ctx), key);
      return respond(200, undefined);
    },
  });

  const deleteMetadata = defineRoute({
    method: 'DELETE',
    path: '/projects/{project_name_or_id}/metadatas/{meta_name}',
    operationId: 'deleteProjectMetadata',
    summary: 'Delete one metadata key',
    description: '"public" cannot be deleted: set it to "false".',
    tag: 'projectMetadata',
    access: access.project<WithProject>('metadata', 'delete', named),
    params: metaParams,
    headers,
    responses: { 200: { description: 'Deleted.' } },
    errors: [404],
    handler: async (input, ctx) => {
      await catalog.deleteMetadata(await find(input), input.params.meta_name, await actor(ctx));
      return respond(200, undefined);
    },
  });

  return [list, head, create, get, update, remove, deletable, summary, listMembers, addMember, getMember, updateMember, removeMember, listMetadata, addMetadata, getMetadata, updateMetadata, deleteMetadata];
}
