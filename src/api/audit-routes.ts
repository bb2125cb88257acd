// The audit log on the management API, as Harbor has it: the whole registry's (`/audit-logs`,
// the legacy model, and `/auditlog-exts`, the v2.13 one with description and result) for system
// admins and robots given audit-log:list, and a project's (`/projects/{p}/logs`,
// `/projects/{p}/auditlog-exts`) for those with log:list there (Project Admins). Harbor's q= keys
// (operation, resource_type, resource, username, op_time) and sort (op_time, -op_time).
import { z } from 'zod';
import { AuditQueryError, type AuditFilter, type AuditLog, type TextMatch } from '../audit/audit-log.js';
import { AUDIT_EVENT_TYPES } from '../audit/audit-record.js';
import type { AuditEntry } from '../audit/audit-record.js';
import type { Condition } from '../metadata/list-query.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { projectNameParam } from './params.js';
import { parseQ, parseSort } from './query.js';
import { defineRoute, listed, listResponse, respond, type ApiRoute } from './route.js';

export interface AuditRoutesDeps {
  audit: AuditLog;
  /** A project's id by name; undefined when there is none. */
  projectId(name: string): number | undefined;
}

const AuditLogModel = model(
  'AuditLog',
  z.object({
    id: z.number().int(),
    username: z.string(),
    resource: z.string(),
    resource_type: z.string(),
    operation: z.string(),
    op_time: timestamp,
  }),
);

const AuditLogExtModel = model(
  'AuditLogExt',
  z.object({
    id: z.number().int(),
    username: z.string(),
    resource: z.string(),
    resource_type: z.string(),
    operation: z.string(),
    operation_description: z.string(),
    operation_result: z.boolean(),
    op_time: timestamp,
    /** minato: where the operation came from. */
    client_address: z.string().nullable().describe('minato: the client address the operation came from (behind trusted proxies, the one they forwarded).'),
  }),
);

const AuditEventType = model('AuditLogEventType', z.object({ event_type: z.string() }));

const AUDIT_FILTER_FIELDS = { operation: 'string', resource_type: 'string', resource: 'string', username: 'string', op_time: 'time' } as const;

const listQuery = z.object({
  q: z.string().optional().describe(`Harbor's query: ${Object.keys(AUDIT_FILTER_FIELDS).join(', ')} (op_time takes a range [from~to]).`),
  sort: z.string().optional().describe('op_time (oldest first) or -op_time (newest first, the default).'),
  ...pagingQuery,
});

function text(key: string, c: Condition<string> | undefined): TextMatch | undefined {
  if (c === undefined) return undefined;
  if (c.op === 'eq') return c.value;
  if (c.op === 'fuzzy') return { contains: c.value };
  throw new ApiError('BAD_REQUEST', `q: ${key} takes a value (k=v) or a fuzzy match (k=~v)`);
}

function oneOrMany(key: string, c: Condition<string> | undefined): string | string[] | undefined {
  if (c === undefined) return undefined;
  if (c.op === 'eq') return c.value;
  if (c.op === 'any') return c.values;
  throw new ApiError('BAD_REQUEST', `q: ${key} takes a value (k=v) or a list of them (k={a b})`);
}

/** Harbor's q= and sort= as the reader's filter and order. */
function filterOf(query: { q?: string; sort?: string }, projectId?: number): { filter: AuditFilter; order: 'newest' | 'oldest' } {
  const q = parseQ(query.q, AUDIT_FILTER_FIELDS) as Partial<Record<keyof typeof AUDIT_FILTER_FIELDS, Condition<any>>>;
  const filter: AuditFilter = {};
  const operation = oneOrMany('operation', q.operation);
  if (operation !== undefined) filter.operation = operation;
  const resourceType = oneOrMany('resource_type', q.resource_type);
  if (resourceType !== undefined) filter.resourceType = resourceType;
  const resource = text('resource', q.resource);
  if (resource !== undefined) filter.resource = resource;
  const username = text('username', q.username);
  if (username !== undefined) filter.username = username;
  const time = q.op_time as Condition<number> | undefined;
  if (time !== undefined) {
    if (time.op !== 'range') throw new ApiError('BAD_REQUEST', 'q: op_time takes a range, e.g. op_time=[2026-01-01T00:00:00~2026-02-01T00:00:00]');
    if (time.min !== undefined) filter.from = time.min;
    if (time.max !== undefined) filter.to = time.max;
  }
  if (projectId !== undefined) filter.projectId = projectId;
  const [sort] = parseSort(query.sort, ['op_time'] as const);
  return { filter, order: sort && !sort.desc ? 'oldest' : 'newest' };
}

const iso = (ms: number) => new Date(ms).toISOString();
const legacy = (e: AuditEntry) => ({ id: e.id, username: e.username, resource: e.resource, resource_type: e.resourceType, operation: e.operation, op_time: iso(e.opTime) });
const extended = (e: AuditEntry) => ({
  ...legacy(e),
  operation_description: e.description,
  operation_result: e.success,
  client_address: e.address,
});

export function auditRoutes(deps: AuditRoutesDeps): ApiRoute[] {
  const { audit } = deps;
  type Input = { query: z.output<typeof listQuery>; params?: { project_name?: string } };

  const entries = async (input: Input) => {
    const name = input.params?.project_name;
    let projectId: number | undefined;
    if (name !== undefined) {
      projectId = deps.projectId(name);
      if (projectId === undefined) throw new ApiError('NOT_FOUND', `project ${name} does not exist`);
    }
    const { filter, order } = filterOf(input.query, projectId);
    const page = pageOf(input.query);
    try {
      const result = await audit.query(filter, { page: page.page, pageSize: page.pageSize, order });
      return { ...result, page };
    } catch (err) {
      if (err instanceof AuditQueryError) throw new ApiError('BAD_REQUEST', err.message);
      throw err;
    }
  };

  const systemRule = access.system('audit-log', 'list');
  const projectRule = access.project<{ params: { project_name: string } }>('log', 'list', (input) => input.params.project_name);
  const projectParams = z.object({ project_name: projectNameParam });

  /** One list of entries: the registry's or a project's, in the legacy or the extended model. */
  const list = <M extends z.ZodType>(spec: { path: string; operationId: string; summary: string; tag: string; model: M; shape: (e: AuditEntry) => z.input<M>; project: boolean }) =>
    defineRoute({
      method: 'GET',
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      tag: spec.tag,
      access: (spec.project ? projectRule : systemRule) as typeof projectRule,
      ...(spec.project ? { params: projectParams } : {}),
      query: listQuery,
      responses: { 200: listResponse('A page of entries, newest first.', spec.model) },
      errors: spec.project ? [404] : [],
      handler: async (input, ctx) => {
        const { items, total, page } = await entries(input as Input);
        return listed(ctx, items.map(spec.shape), total, page);
      },
    });

  return [
    list({ path: '/audit-logs', operationId: 'listAuditLogs', summary: "The audit log of the whole registry (Harbor's legacy model)", tag: 'auditlog', model: AuditLogModel, shape: legacy, project: false }),
    list({ path: '/auditlog-exts', operationId: 'listAuditLogExts', summary: 'The audit log of the whole registry, with descriptions, results and addresses', tag: 'auditlog', model: AuditLogExtModel, shape: extended, project: false }),
    defineRoute({
      method: 'GET',
      path: '/auditlog-exts/events',
      operationId: 'listAuditLogEventTypes',
      summary: 'The event types the audit log records',
      tag: 'auditlog',
      access: systemRule,
      responses: { 200: { description: "Harbor's event types minato records, in Harbor's order.", schema: z.array(AuditEventType) } },
      handler: async () => respond(200, AUDIT_EVENT_TYPES.map((event_type) => ({ event_type }))),
    }),
    list({ path: '/projects/{project_name}/logs', operationId: 'getLogs', summary: "A project's audit log (Harbor's legacy model)", tag: 'project', model: AuditLogModel, shape: legacy, project: true }),
    list({ path: '/projects/{project_name}/auditlog-exts', operationId: 'listAuditLogExtsOfProject', summary: "A project's audit log, with descriptions, results and addresses", tag: 'project', model: AuditLogExtModel, shape: extended, project: true }),
  ];
}
