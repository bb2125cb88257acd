// Harbor's tag immutability rules of a project: `/projects/{project_name_or_id}/immutabletagrules`
// GET (list), POST, and `/{immutable_rule_id}` PUT and DELETE, with Harbor's ImmutableRule model
// (api/v2.0/swagger.yaml). Who may: `immutable-tag` in the project (Project Admins and
// Maintainers, as rbac.ts grants it; system admins). Handlers parse and call core/immutable-rules.ts.
import { z } from 'zod';
import type { ProjectRecord } from '../auth/access-store.js';
import type { ImmutableRuleCases } from '../core/immutable-rules.js';
import type { Projects } from '../core/projects.js';
import { ImmutableRuleSchema } from '../policy/immutability.js';
import { access, type ProjectOf } from './access.js';
import { model } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { isResourceNameHeader, projectNameOrIdParam, projectRef } from './params.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';

export interface ImmutableRuleRoutesDeps {
  rules: ImmutableRuleCases;
  projects: Projects;
}

const ImmutableRule = model('ImmutableRule', ImmutableRuleSchema.describe('Tags these selectors cover cannot be moved to another digest or deleted.'));

const projectParams = z.object({ project_name_or_id: projectNameOrIdParam });
const ruleParams = projectParams.extend({ immutable_rule_id: z.coerce.number().int().min(1).describe("The rule's id.") });
const headers = z.object(isResourceNameHeader);

type WithProject = { params: { project_name_or_id: string }; headers: { 'X-Is-Resource-Name'?: 'true' | 'false' } };

export function immutableRuleRoutes(deps: ImmutableRuleRoutesDeps): ApiRoute[] {
  const { rules, projects } = deps;
  const find = (input: WithProject): Promise<ProjectRecord> => {
    const ref = projectRef(input.params.project_name_or_id, input.headers['X-Is-Resource-Name']);
    return projects.project('id' in ref ? ref.id : ref.name);
  };
  const named: ProjectOf<WithProject> = async (input) => {
    const ref = projectRef(input.params.project_name_or_id, input.headers['X-Is-Resource-Name']);
    return 'name' in ref ? ref.name : (await projects.store.getProject(ref.id))?.name;
  };
  const actor = (ctx: ApiContext) => projects.actor(ctx.caller.principal, ctx.address);
  const base = (project: ProjectRecord) => `${API_BASE}/projects/${project.id}/immutabletagrules`;

  return [
    defineRoute({
      method: 'GET',
      path: '/projects/{project_name_or_id}/immutabletagrules',
      operationId: 'ListImmuRules',
      summary: "A project's tag immutability rules",
      tag: 'immutable',
      access: access.project<WithProject>('immutable-tag', 'list', named),
      params: projectParams,
      headers,
      query: z.object({ ...pagingQuery }),
      responses: { 200: listResponse('A page of rules, by id.', ImmutableRule) },
      errors: [404],
      handler: async (input, ctx) => {
        const page = pageOf(input.query);
        const all = await rules.list(await find(input));
        const start = (page.page - 1) * page.pageSize;
        return listed(ctx, all.slice(start, start + page.pageSize), all.length, page);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/projects/{project_name_or_id}/immutabletagrules',
      operationId: 'CreateImmuRule',
      summary: 'Add a tag immutability rule',
      description: 'At most 15 per project. Applies to the next push at once, on every replica within the event poll interval.',
      tag: 'immutable',
      access: access.project<WithProject>('immutable-tag', 'create', named),
      params: projectParams,
      headers,
      body: ImmutableRule,
      responses: { 201: { description: 'Created.', headers: { Location: { description: 'The new rule.', schema: z.string(), required: true } } } },
      errors: [404, 409],
      handler: async (input, ctx) => {
        const project = await find(input);
        const id = await rules.create(project, input.body, await actor(ctx));
        return respond(201, undefined, { Location: `${base(project)}/${id}` });
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}',
      operationId: 'UpdateImmuRule',
      summary: 'Change a tag immutability rule (disable it, too)',
      tag: 'immutable',
      access: access.project<WithProject>('immutable-tag', 'update', named),
      params: ruleParams,
      headers,
      body: ImmutableRule,
      responses: { 200: { description: 'Changed.' } },
      errors: [404],
      handler: async (input, ctx) => {
        await rules.update(await find(input), input.params.immutable_rule_id, input.body, await actor(ctx));
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}',
      operationId: 'DeleteImmuRule',
      summary: 'Delete a tag immutability rule',
      tag: 'immutable',
      access: access.project<WithProject>('immutable-tag', 'delete', named),
      params: ruleParams,
      headers,
      responses: { 200: { description: 'Deleted.' } },
      errors: [404],
      handler: async (input, ctx) => {
        await rules.delete(await find(input), input.params.immutable_rule_id, await actor(ctx));
        return respond(200, undefined);
      },
    }),
  ];
}
