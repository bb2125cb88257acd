// Harbor's tag retention endpoints (api/v2.0/swagger.yaml, "Retention"): `/retentions` POST,
// `/retentions/{id}` GET, PUT, DELETE, `/retentions/metadatas` (the template catalogue),
// `/retentions/{id}/executions` POST ({dry_run}) and GET, `.../executions/{eid}` PATCH (stop),
// `.../tasks` (one per repository) and `.../tasks/{tid}` (its log, text). Who may: `tag-retention`
// in the policy's project (Harbor lets Developers too, §1.3). Handlers parse and call core/retention.ts.
import { z } from 'zod';
import type { Projects } from '../core/projects.js';
import type { Retention, RetentionExecution } from '../core/retention.js';
import type { RetentionTaskRow } from '../metadata/tag-rule-store.js';
import { REPOSITORY_DECORATIONS, TAG_DECORATIONS } from '../policy/tag-selectors.js';
import type { TaskLogItem } from '../retention/retention-job.js';
import { RetentionPolicySchema, TEMPLATES } from '../retention/retention-policy.js';
import { formatTaskLog } from '../retention/task-log.js';
import { access } from './access.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiContext, type ApiRoute } from './route.js';

export interface RetentionRoutesDeps {
  retention: Retention;
  projects: Projects;
}

const RetentionPolicy = model('RetentionPolicy', RetentionPolicySchema.describe("A project's retention policy: what no enabled rule keeps is deleted when it runs."));

const RetentionMetadata = model(
  'RetentionMetadata',
  z.object({
    templates: z.array(z.object({ rule_template: z.string(), display_text: z.string(), action: z.string(), params: z.array(z.object({ type: z.string(), unit: z.string(), required: z.boolean() })) })),
    scope_selectors: z.array(z.object({ display_text: z.string(), kind: z.string(), decorations: z.array(z.string()) })),
    tag_selectors: z.array(z.object({ display_text: z.string(), kind: z.string(), decorations: z.array(z.string()) })),
  }),
);

const RetentionExecutionModel = model(
  'RetentionExecution',
  z.object({
    id: z.number().int(),
    policy_id: z.number().int(),
    start_time: timestamp,
    end_time: timestamp.optional(),
    status: z.enum(['Running', 'Succeed', 'Error', 'Stopped']),
    trigger: z.enum(['MANUAL', 'SCHEDULE']),
    dry_run: z.boolean(),
    error: z.string().optional().describe('Why the run failed (minato).'),
    total: z.number().int().optional().describe('Artifacts looked at (minato; when ended).'),
    retained: z.number().int().optional(),
    deleted: z.number().int().optional().describe('Deleted, or that a dry run would delete.'),
  }),
);

const LogItem = z.object({
  digest: z.string(),
  tags: z.array(z.string()),
  media_type: z.string(),
  push_time: timestamp,
  pull_time: timestamp.nullable(),
  creation_time: timestamp,
  retention: z.enum(['RETAIN', 'DEL']),
  reason: z.string(),
  error: z.string().optional(),
});

const RetentionTask = model(
  'RetentionExecutionTask',
  z.object({
    id: z.number().int(),
    execution_id: z.number().int(),
    repository: z.string(),
    job_id: z.string(),
    status: z.string(),
    status_code: z.number().int(),
    start_time: timestamp,
    end_time: timestamp.optional(),
    total: z.number().int(),
    retained: z.number().int(),
    log: z.array(LogItem).optional().describe('Every artifact with RETAIN or DEL and why (minato; with with_log=true).'),
  }),
);

const idParams = z.object({ id: z.coerce.number().int().min(1).describe("The policy's id.") });
const executionParams = idParams.extend({ eid: z.coerce.number().int().min(1).describe("The execution's id.") });
const taskParams = executionParams.extend({ tid: z.coerce.number().int().min(1).describe("The task's id.") });

const iso = (ms: number) => new Date(ms).toISOString();

function executionModel(e: RetentionExecution): z.input<typeof RetentionExecutionModel> {
  return {
    id: e.id,
    policy_id: e.policyId,
    start_time: iso(e.startedAt),
    ...(e.finishedAt !== undefined ? { end_time: iso(e.finishedAt) } : {}),
    status: e.status,
    trigger: e.trigger,
    dry_run: e.dryRun,
    ...(e.error !== undefined ? { error: e.error } : {}),
    ...(e.summary ? { total: e.summary.total, retained: e.summary.retained, deleted: e.summary.deleted } : {}),
  };
}

function taskModel(t: RetentionTaskRow<TaskLogItem[]>, withLog: boolean): z.input<typeof RetentionTask> {
  return {
    id: t.id,
    execution_id: t.executionId,
    repository: t.repository,
    job_id: `retention-${t.policyId}/${t.executionId}/${t.id}`,
    status: t.status,
    status_code: t.status === 'Succeed' ? 3 : t.status === 'Stopped' ? 4 : 5,
    start_time: iso(t.startTime),
    ...(t.endTime !== null ? { end_time: iso(t.endTime) } : {}),
    total: t.total,
    retained: t.retained,
    ...(withLog
      ? {
          log: t.log.map((i) => ({
            digest: i.digest,
            tags: i.tags,
            media_type: i.mediaType,
            push_time: iso(i.pushedAt),
            pull_time: i.pulledAt === null ? null : iso(i.pulledAt),
            creation_time: iso(i.createdAt),
            retention: i.action,
            reason: i.reason,
            ...(i.error !== undefined ? { error: i.error } : {}),
          })),
        }
      : {}),
  };
}

export function retentionRoutes(deps: RetentionRoutesDeps): ApiRoute[] {
  const { retention, projects } = deps;
  const actor = (ctx: ApiContext) => projects.actor(ctx.caller.principal, ctx.address);
  const policyProject = (input: { params: { id: number } }) => retention.projectOf(input.params.id);
  const paged = <T>(all: T[], query: { page: number; page_size: number }) => {
    const page = pageOf(query);
    const start = (page.page - 1) * page.pageSize;
    return { items: all.slice(start, start + page.pageSize), total: all.length, page };
  };

  return [
    defineRoute({
      method: 'GET',
      path: '/retentions/metadatas',
      operationId: 'getRentenitionMetadata',
      summary: 'The retention rule templates and selectors',
      tag: 'Retention',
      access: access.signedIn(),
      responses: { 200: { description: 'The catalogue.', schema: RetentionMetadata } },
      handler: async () =>
        respond(200, {
          templates: Object.entries(TEMPLATES).map(([id, t]) => ({
            rule_template: id,
            display_text: t.display,
            action: t.action,
            params: 'unit' in t ? [{ type: 'int', unit: t.unit, required: true }] : [],
          })),
          scope_selectors: [{ display_text: 'Repositories', kind: 'doublestar', decorations: [...REPOSITORY_DECORATIONS] }],
          tag_selectors: [{ display_text: 'Tags', kind: 'doublestar', decorations: [...TAG_DECORATIONS] }],
        }),
    }),
    defineRoute({
      method: 'POST',
      path: '/retentions',
      operationId: 'createRetention',
      summary: "Create a project's retention policy",
      description: 'One per project (409 when it has one); the project\'s metadata `retention_id` names it. Nothing runs until asked or scheduled: run it with dry_run first.',
      tag: 'Retention',
      access: access.project<{ body: { scope: { ref: number } } }>('tag-retention', 'create', async (input) => (await projects.store.getProject(input.body.scope.ref))?.name),
      body: RetentionPolicy,
      responses: { 201: { description: 'Created.', headers: { Location: { description: 'The new policy.', schema: z.string(), required: true } } } },
      errors: [404, 409],
      handler: async ({ body }, ctx) => {
        const id = await retention.create(body, await actor(ctx));
        return respond(201, undefined, { Location: `${API_BASE}/retentions/${id}` });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/retentions/{id}',
      operationId: 'getRetention',
      summary: 'A retention policy',
      tag: 'Retention',
      access: access.project('tag-retention', 'read', policyProject),
      params: idParams,
      responses: { 200: { description: 'The policy.', schema: RetentionPolicy } },
      errors: [404],
      handler: async ({ params }) => respond(200, await retention.get(params.id)),
    }),
    defineRoute({
      method: 'PUT',
      path: '/retentions/{id}',
      operationId: 'updateRetention',
      summary: 'Change a retention policy (its rules, its schedule)',
      tag: 'Retention',
      access: access.project('tag-retention', 'update', policyProject),
      params: idParams,
      body: RetentionPolicy,
      responses: { 200: { description: 'Changed.' } },
      errors: [404],
      handler: async ({ params, body }, ctx) => {
        await retention.update(params.id, body, await actor(ctx));
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/retentions/{id}',
      operationId: 'deleteRetention',
      summary: 'Delete a retention policy (and its runs\' tasks)',
      tag: 'Retention',
      access: access.project('tag-retention', 'delete', policyProject),
      params: idParams,
      responses: { 200: { description: 'Deleted.' } },
      errors: [404],
      handler: async ({ params }, ctx) => {
        await retention.delete(params.id, await actor(ctx));
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/retentions/{id}/executions',
      operationId: 'triggerRetentionExecution',
      summary: 'Run a retention policy now',
      description: 'With dry_run: true nothing is deleted; the tasks list what would be. 409 while a run of the policy goes on.',
      tag: 'Retention',
      access: access.project('tag-retention', 'operate', policyProject),
      params: idParams,
      body: z.object({ dry_run: z.boolean().default(false) }),
      responses: { 201: { description: 'Started.', headers: { Location: { description: 'The execution.', schema: z.string(), required: true } } } },
      errors: [404, 409],
      handler: async ({ params, body }) => {
        const eid = await retention.execute(params.id, body.dry_run);
        return respond(201, undefined, { Location: `${API_BASE}/retentions/${params.id}/executions/${eid}` });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/retentions/{id}/executions',
      operationId: 'listRetentionExecutions',
      summary: "A retention policy's runs, newest first",
      tag: 'Retention',
      access: access.project('tag-retention', 'list', policyProject),
      params: idParams,
      query: z.object({ ...pagingQuery }),
      responses: { 200: listResponse('A page of executions.', RetentionExecutionModel) },
      errors: [404],
      handler: async ({ params, query }, ctx) => {
        const { items, total, page } = paged(await retention.executions(params.id), query);
        return listed(ctx, items.map(executionModel), total, page);
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/retentions/{id}/executions/{eid}',
      operationId: 'operateRetentionExecution',
      summary: 'Stop a run',
      description: 'Ends between two deletes, in whichever replica it runs: what was deleted stays deleted. 409 when the run has ended.',
      tag: 'Retention',
      access: access.project('tag-retention', 'operate', policyProject),
      params: executionParams,
      body: z.object({ action: z.literal('stop') }),
      responses: { 200: { description: 'Asked to stop.' } },
      errors: [404, 409],
      handler: async ({ params }) => {
        await retention.stop(params.id, params.eid);
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/retentions/{id}/executions/{eid}/tasks',
      operationId: 'listRetentionTasks',
      summary: "A run's tasks: one per repository",
      tag: 'Retention',
      access: access.project('tag-retention', 'list', policyProject),
      params: executionParams,
      query: z.object({ with_log: z.enum(['true', 'false']).transform((v) => v === 'true').default(false).describe('Include every artifact\'s RETAIN or DEL (minato).'), ...pagingQuery }),
      responses: { 200: listResponse('A page of tasks.', RetentionTask) },
      errors: [404],
      handler: async ({ params, query }, ctx) => {
        const { items, total, page } = paged(await retention.tasks(params.id, params.eid), query);
        return listed(ctx, items.map((t) => taskModel(t, query.with_log)), total, page);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/retentions/{id}/executions/{eid}/tasks/{tid}',
      operationId: 'getRetentionTaskLog',
      summary: "A task's log: every artifact of the repository with RETAIN or DEL",
      tag: 'Retention',
      access: access.project('tag-retention', 'read', policyProject),
      params: taskParams,
      responses: { 200: { description: 'The log.', schema: z.string(), contentType: 'text/plain' } },
      errors: [404],
      handler: async ({ params }) => {
        const task = await retention.task(params.id, params.eid, params.tid);
        return respond(200, formatTaskLog(task.repository, task.log));
      },
    }),
  ];
}
