// Garbage collection on the management API, in Harbor's shape (/system/gc): the history of runs
// (GCHistory, paged), one run, its log as text, stop, and the schedule (GET/PUT; POST with type
// Manual starts a run now, 409 while one runs anywhere in the fleet). System administrators only
// (Harbor's garbage-collection resource). A run's result and live progress are minato's additions
// to Harbor's GCHistory (Harbor keeps them in the log only).
import { z } from 'zod';
import { cronOf, gcLog, GC_JOB, type GcParams, type GcSchedule, type ScheduleType } from '../gc/gc-job.js';
import { JobBusyError, type JobRun, type Scheduler } from '../jobs/scheduler.js';
import { access } from './access.js';
import { ApiError } from './errors.js';
import { jobRunFields } from './job-runs.js';
import { model, timestamp } from './models.js';
import { pageOf, pagingQuery } from './paging.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiRoute } from './route.js';

export interface GcRoutesDeps {
  jobs: Scheduler;
  /** The job's current schedule, and how to change it (fleet-wide store). */
  schedule(): GcSchedule;
  setSchedule(schedule: GcSchedule): Promise<void>;
}

const SCHEDULE_TYPES = ['None', 'Hourly', 'Daily', 'Weekly', 'Custom', 'Manual'] as const;

export const ScheduleObj = model(
  'ScheduleObj',
  z.object({
    type: z.enum(SCHEDULE_TYPES).describe('None: no schedule; Hourly, Daily, Weekly: at the start of each; Custom: `cron`; Manual: a run now (POST).'),
    cron: z.string().optional().describe('The cron of a Custom schedule: 6 fields, seconds first ("0 0 3 * * *"), or 5.'),
    next_scheduled_time: timestamp.optional().describe('When the next scheduled run starts.'),
  }),
);

const GcParameters = z
  .object({
    delete_untagged: z.boolean().optional().describe('Delete untagged manifests (no tag, no index or subject referencing them) too.'),
    dry_run: z.boolean().optional().describe('Report what would be freed, per project, and change nothing.'),
    workers: z.number().int().min(1, 'workers must be 1 to 10').max(10, 'workers must be 1 to 10').optional().describe("Harbor's worker count (1-10): accepted, and unused (minato's sweep deletes 16 blobs at a time)."),
  })
  .describe("The run's parameters.");

const GcScheduleModel = model(
  'Schedule',
  z.object({
    schedule: ScheduleObj.optional(),
    parameters: GcParameters.optional(),
  }),
);

const GcResultModel = z
  .object({
    dry_run: z.boolean(),
    manifests: z.number().int().describe('Untagged manifests deleted (a dry run: that would be).'),
    links: z.number().int().describe('Blob links removed that no manifest referenced, past the grace window.'),
    blobs: z.number().int().describe('Blobs deleted from storage.'),
    bytes: z.number().int().describe('Bytes freed in storage.'),
    uploads: z.number().int().describe('Abandoned uploads removed.'),
    seconds: z.number(),
    projects: z
      .array(z.object({ project: z.string(), manifests: z.number().int(), blobs: z.number().int(), bytes: z.number().int() }))
      .optional()
      .describe("A dry run: what each project would free, in the bytes its quota counts (its manifests and blobs; a blob several projects link is in each). `bytes` is storage's: blobs, each once."),
  })
  .describe('minato: what the run reclaimed, once it ended.');

const GCHistory = model(
  'GCHistory',
  z.object({
    id: z.number().int(),
    job_name: z.literal('GARBAGE_COLLECTION'),
    job_kind: z.enum(['MANUAL', 'SCHEDULE']),
    job_parameters: z.string().describe('The parameters as JSON ({"delete_untagged":..,"dry_run":..}).'),
    schedule: ScheduleObj.optional(),
    job_status: z.enum(['Running', 'Success', 'Error', 'Stopped']),
    deleted: z.boolean(),
    creation_time: timestamp,
    update_time: timestamp,
    progress: z
      .object({ phase: z.string().optional(), done: z.number(), total: z.number().optional(), unit: z.string().optional() })
      .optional()
      .describe('minato: where a running run is (resuming, manifests, links, sweeping, uploads).'),
    result: GcResultModel.optional(),
    error: z.string().optional().describe('minato: why a run failed.'),
  }),
);


function history(run: JobRun): z.input<typeof GCHistory> {
  const params = run.params as Partial<GcParams>;
  const r = run.result as Record<string, unknown> | undefined;
  return {
    ...jobRunFields(run),
    job_name: 'GARBAGE_COLLECTION',
    job_parameters: JSON.stringify({ delete_untagged: params.deleteUntagged === true, dry_run: params.dryRun === true }),
    deleted: false,
    ...(run.progress && run.status === 'running' ? { progress: run.progress } : {}),
    ...(r
      ? {
          result: {
            dry_run: r.dryRun === true,
            manifests: Number(r.manifests ?? 0),
            links: Number(r.links ?? 0),
            blobs: Number(r.blobs ?? 0),
            bytes: Number(r.bytes ?? 0),
            uploads: Number(r.uploads ?? 0),
            seconds: Number(r.seconds ?? 0),
            ...(Array.isArray(r.projects) ? { projects: r.projects as Array<{ project: string; manifests: number; blobs: number; bytes: number }> } : {}),
          },
        }
      : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

const idParams = z.object({ gc_id: z.coerce.number({ error: 'gc_id is a run id (an integer)' }).int('gc_id is a run id (an integer)').positive('gc_id is a run id (an integer)') });

export function gcRoutes(deps: GcRoutesDeps): ApiRoute[] {
  const { jobs } = deps;
  const rule = (action: string) => access.system('garbage-collection', action);
  const find = async (id: number) => {
    const run = await jobs.find(GC_JOB, id);
    if (!run) throw new ApiError('NOT_FOUND', `no garbage collection run ${id} (GET /api/v2.0/system/gc lists the recent ones)`);
    return run;
  };
  const scheduleBody = () => {
    const s = deps.schedule();
    const next = jobs.nextRun(GC_JOB);
    return {
      schedule: { type: s.type, ...(s.cron !== undefined && s.type === 'Custom' ? { cron: s.cron } : {}), ...(next ? { next_scheduled_time: next.toISOString() } : {}) },
      parameters: { delete_untagged: s.params.deleteUntagged, dry_run: s.params.dryRun },
    };
  };
  const paramsOf = (body: z.output<typeof GcScheduleModel>): GcParams => ({ deleteUntagged: body.parameters?.delete_untagged === true, dryRun: body.parameters?.dry_run === true });
  const scheduleOf = (body: z.output<typeof GcScheduleModel>): GcSchedule => {
    const type: ScheduleType = body.schedule?.type ?? 'None';
    if (type === 'Custom') {
      const cron = body.schedule?.cron;
      if (!cron) throw new ApiError('BAD_REQUEST', 'a Custom schedule needs a cron, e.g. {"type":"Custom","cron":"0 0 3 * * *"}');
      return { type, cron, params: paramsOf(body) };
    }
    return { type, params: paramsOf(body) };
  };

  return [
    defineRoute({
      method: 'GET',
      path: '/system/gc',
      operationId: 'getGCHistory',
      summary: 'Garbage collection runs, newest first',
      tag: 'gc',
      access: rule('list'),
      query: z.object({ ...pagingQuery }),
      responses: { 200: listResponse('A page of runs.', GCHistory) },
      handler: async (input, ctx) => {
        const runs = await jobs.history(GC_JOB);
        const page = pageOf(input.query);
        const from = (page.page - 1) * page.pageSize;
        return listed(ctx, runs.slice(from, from + page.pageSize).map(history), runs.length, page);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/system/gc/{gc_id}',
      operationId: 'getGC',
      summary: 'One garbage collection run, with its progress or result',
      tag: 'gc',
      access: rule('read'),
      params: idParams,
      responses: { 200: { description: 'The run.', schema: GCHistory } },
      errors: [404],
      handler: async (input) => respond(200, history(await find(input.params.gc_id))),
    }),
    defineRoute({
      method: 'GET',
      path: '/system/gc/{gc_id}/log',
      operationId: 'getGCLog',
      summary: "A garbage collection run's log",
      tag: 'gc',
      access: rule('read'),
      params: idParams,
      responses: { 200: { description: 'The log, as text.', schema: z.string(), contentType: 'text/plain' } },
      errors: [404],
      handler: async (input) => respond(200, gcLog(await find(input.params.gc_id))),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/system/gc/{gc_id}',
      operationId: 'stopGC',
      summary: 'Stop a garbage collection run',
      description: 'The run ends after the batch it is in, leaving everything consistent; the next run continues where it stopped.',
      tag: 'gc',
      access: rule('stop'),
      params: idParams,
      responses: { 200: { description: 'Stop asked (or the run had already ended).' } },
      errors: [404, 409],
      handler: async (input) => {
        const run = await find(input.params.gc_id);
        if (run.status !== 'running') return respond(200, undefined);
        await jobs.stop(GC_JOB, run.id); // false: it ended meanwhile
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/system/gc/schedule',
      operationId: 'getGCSchedule',
      summary: "Garbage collection's schedule",
      tag: 'gc',
      access: rule('read'),
      responses: { 200: { description: 'The schedule and the parameters of scheduled runs.', schema: GcScheduleModel } },
      handler: async () => respond(200, scheduleBody()),
    }),
    defineRoute({
      method: 'PUT',
      path: '/system/gc/schedule',
      operationId: 'updateGCSchedule',
      summary: "Sets garbage collection's schedule",
      description: 'Replaces gc.schedule (kept in the shared store: replicas starting later take it).',
      tag: 'gc',
      access: rule('update'),
      body: GcScheduleModel,
      responses: { 200: { description: 'Set.' } },
      handler: async (input) => {
        const schedule = scheduleOf(input.body);
        if (schedule.type === 'Manual') throw new ApiError('BAD_REQUEST', 'a Manual schedule is a run now: POST /api/v2.0/system/gc/schedule');
        try {
          await deps.setSchedule(schedule);
        } catch (err) {
          if (err instanceof ApiError) throw err;
          throw new ApiError('BAD_REQUEST', `cron ${cronOf(schedule)}: ${(err as Error).message}`);
        }
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/system/gc/schedule',
      operationId: 'createGCSchedule',
      summary: 'Starts a garbage collection run now (type Manual), or sets the schedule',
      tag: 'gc',
      access: rule('create'),
      body: GcScheduleModel,
      responses: {
        201: { description: 'Started (Manual) or set.', headers: { Location: { description: 'The run (/api/v2.0/system/gc/{id}) or the schedule.', schema: z.string(), required: true } } },
      },
      errors: [409],
      handler: async (input) => {
        const schedule = scheduleOf(input.body);
        if (schedule.type !== 'Manual') {
          try {
            await deps.setSchedule(schedule);
          } catch (err) {
            throw new ApiError('BAD_REQUEST', `cron ${cronOf(schedule)}: ${(err as Error).message}`);
          }
          return respond(201, undefined, { Location: `${API_BASE}/system/gc/schedule` });
        }
        try {
          const { run, finished } = await jobs.start(GC_JOB, { ...schedule.params });
          finished.catch(() => undefined); // the scheduler logs and records the outcome
          return respond(201, undefined, { Location: `${API_BASE}/system/gc/${run.id}` });
        } catch (err) {
          if (err instanceof JobBusyError) throw new ApiError('CONFLICT', 'a garbage collection run is going on (here or on another replica): wait for it to end (GET /api/v2.0/system/gc), or stop it');
          throw err;
        }
      },
    }),
  ];
}
