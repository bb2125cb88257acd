// Project storage quotas on the management API, as Harbor has them: `GET /quotas` (system
// admins), `GET /quotas/{id}` (the system quota:read, as Harbor; and anyone with quota:read in the
// project), `PUT /quotas/{id}` with `{"hard": {"storage": N}}` (system admins). A quota's id is its project's id (minato keeps one
// quota per project, in the project). Usage is exact at every moment (core/quotas.ts).
import { z } from 'zod';
import type { ProjectRecord } from '../auth/access-store.js';
import type { ProjectQueries } from '../auth/project-queries.js';
import type { Projects } from '../core/projects.js';
import type { Quotas } from '../core/quotas.js';
import type { Caller as CoreCaller } from '../policy/policy.js';
import { access } from './access.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';

export interface QuotaRoutesDeps {
  quotas: Quotas;
  projects: Projects;
  queries: ProjectQueries;
}

const Storage = z.object({ storage: z.number().int().describe('Bytes; -1 unlimited.') });

const QuotaModel = model(
  'Quota',
  z.object({
    id: z.number().int().describe("The quota's id: its project's id."),
    ref: z.object({ id: z.number().int(), name: z.string(), owner_name: z.string().nullable() }),
    hard: Storage,
    used: z.object({ storage: z.number().int() }),
    creation_time: timestamp,
    update_time: timestamp,
  }),
);

const QuotaUpdateReq = model('QuotaUpdateReq', z.strictObject({ hard: z.strictObject({ storage: z.number().int().min(-1).describe('Bytes; -1 unlimited.') }) }));

const idParams = z.object({ id: z.coerce.number().int().positive().describe("The quota's id (its project's id).") });

export function quotaRoutes(deps: QuotaRoutesDeps): ApiRoute[] {
  const { quotas, projects, queries } = deps;
  const caller = async (ctx: ApiContext): Promise<CoreCaller> => ({ actor: await projects.actor(ctx.caller.principal, ctx.address), grant: { principal: ctx.caller.principal } });
  const quotaModel = (project: ProjectRecord, ownerName: string | null, used: number) => ({
    id: project.id,
    ref: { id: project.id, name: project.name, owner_name: ownerName },
    hard: { storage: project.storageLimit },
    used: { storage: used },
    creation_time: new Date(project.createdAt).toISOString(),
    update_time: new Date(project.updatedAt).toISOString(),
  });
  const modelOf = async (project: ProjectRecord, ctx: ApiContext) => {
    const q = await quotas.usage(await caller(ctx), project.name);
    return { ...quotaModel(project, await queries.ownerName(project.ownerId), q.used), hard: { storage: q.limit } };
  };
  const projectOfId = async (input: { params: { id: number } }) => (await projects.store.getProject(input.params.id))?.name;

  return [
    defineRoute({
      method: 'GET',
      path: '/quotas',
      operationId: 'listQuotas',
      summary: "Every project's storage quota and usage",
      tag: 'quota',
      access: access.system('quota', 'list'),
      query: z.object({ ...pagingQuery }),
      responses: { 200: listResponse('A page of quotas, by project name.', QuotaModel) },
      handler: async (input, ctx) => {
        const page = pageOf(input.query);
        // One query for the page (limits, owners and usage joined) and one count, whatever the page size.
        const { items, total } = await queries.list({ scope: { all: true }, filter: {}, sort: [{ field: 'name', desc: false }], page });
        return listed(ctx, items.map((p) => quotaModel(p, p.ownerName, p.usedBytes)), total, page);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/quotas/{id}',
      operationId: 'getQuota',
      summary: "A project's storage quota and usage",
      tag: 'quota',
      // Harbor asks for the system quota:read here; minato lets the project's members read their own quota too.
      access: access.project('quota', 'read', projectOfId, { resource: 'quota', action: 'read' }),
      params: idParams,
      responses: { 200: { description: 'The quota.', schema: QuotaModel } },
      errors: [404],
      handler: async (input, ctx) => respond(200, await modelOf(await projects.project(input.params.id), ctx)),
    }),
    defineRoute({
      method: 'PUT',
      path: '/quotas/{id}',
      operationId: 'updateQuota',
      summary: "Set a project's storage limit",
      description: 'Applies to the next push at once; usage above a lowered limit stays (pushes that add bytes are refused, deletes give room back).',
      tag: 'quota',
      access: access.system('quota', 'update'),
      params: idParams,
      body: QuotaUpdateReq,
      responses: { 200: { description: 'The limit is set.' } },
      errors: [404],
      handler: async (input, ctx) => {
        const project = await projects.project(input.params.id);
        await quotas.setLimit(await caller(ctx), project.name, input.body.hard.storage);
        return respond(200, undefined);
      },
    }),
  ];
}
