// minato's scrub on the management API, shaped like Harbor's GC endpoints (/system/gc: a history
// of runs with job_kind, job_status and times; stop by id): POST /system/scrub starts a run
// ({repair}), GET /system/scrub lists runs, GET /system/scrub/{id} shows one with a page of its
// findings, PATCH /system/scrub/{id} stops it. System administrators only (robots cannot be given
// the scrub resource: Harbor has none to grant).
import { z } from 'zod';
import type { JobRun } from '../jobs/scheduler.js';
import { FINDING_KINDS, type ScrubFinding } from '../core/scrub-findings.js';
import type { ScrubRuns, ScrubSummary } from '../core/scrub-runs.js';
import { access } from './access.js';
import { jobRunFields } from './job-runs.js';
import { model, timestamp } from './models.js';
import { pageLinks, pageOf, pagingQuery } from './paging.js';
import { API_BASE, defineRoute, listed, listResponse, respond, type ApiRoute } from './route.js';

export type ScrubRunsApi = Pick<ScrubRuns, 'start' | 'history' | 'run' | 'findings' | 'stop'>;

const kindCounts = z.object(Object.fromEntries(FINDING_KINDS.map((k) => [k, z.number().int()])) as Record<(typeof FINDING_KINDS)[number], z.ZodNumber>);

const ScrubSummaryModel = model(
  'ScrubSummary',
  z.object({
    repair: z.boolean(),
    stopped: z.boolean().describe('The run was stopped before the end: the counts are of what it checked.'),
    blobs_checked: z.number().int(),
    bytes_verified: z.number().int().describe('Blob bytes read back and re-hashed.'),
    bytes_total: z.number().int().describe('Bytes of every blob the metadata knows.'),
    manifests_checked: z.number().int(),
    blobs_listed: z.number().int().describe('Blobs found in the storage (for orphans).'),
    orphans_in_grace: z.number().int().describe('Bytes no metadata knows yet but younger than scrub.orphanGraceMinutes: left alone (a push may be writing its metadata).'),
    findings: kindCounts.describe('Findings by kind.'),
    remaining: kindCounts.describe('Findings by kind this run did not repair.'),
    repaired: z.number().int(),
    findings_truncated: z.boolean().describe('More findings than the run keeps (5,000): the counts are exact, the list is not.'),
  }),
);

const ScrubRunModel = model(
  'ScrubHistory',
  z.object({
    id: z.number().int(),
    job_name: z.literal('scrub'),
    job_kind: z.enum(['MANUAL', 'SCHEDULE']),
    job_parameters: z.string().describe('The parameters as JSON ({"repair":false}), as Harbor writes them.'),
    job_status: z.enum(['Running', 'Success', 'Error', 'Stopped']),
    creation_time: timestamp,
    update_time: timestamp,
    error: z.string().optional().describe('Why the run failed.'),
    progress: z
      .object({ phase: z.string().optional(), done: z.number(), total: z.number().optional(), unit: z.string().optional() })
      .optional()
      .describe('Where a running run is: the phase (blobs, manifests, references, orphans) and how far.'),
    summary: ScrubSummaryModel.optional().describe('What the run found, once it ended.'),
  }),
);

const ImageRefModel = model('ScrubImage', z.object({ repository: z.string(), manifest: z.string(), tags: z.array(z.string()) }));

const ScrubFindingModel = model(
  'ScrubFinding',
  z.object({
    kind: z.enum(FINDING_KINDS),
    digest: z.string().describe('The blob (or for corrupt-manifest the manifest) concerned.'),
    repository: z.string().optional(),
    manifest: z.string().optional(),
    detail: z.string().describe('What was seen.'),
    meaning: z.string().describe('What it means for the users of the registry.'),
    repair: z.string().describe('What repair does, or did when this run repaired it, and what to do next.'),
    repaired: z.boolean(),
    images: z.array(ImageRefModel).optional().describe('Images it breaks (at most 20).'),
  }),
);

const ScrubRunDetailModel = model(
  'ScrubRunDetail',
  ScrubRunModel.extend({
    findings: z.array(ScrubFindingModel).describe('This page of the findings (page, page_size; the Link header names the others).'),
    finding_total: z.number().int().describe('Findings the run kept.'),
  }),
);

const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1).describe("The run's id.") });


function runModel(run: JobRun): z.input<typeof ScrubRunModel> {
  const s = run.result as ScrubSummary | undefined;
  return {
    ...jobRunFields(run),
    job_name: 'scrub',
    job_parameters: JSON.stringify(run.params),
    ...(run.error !== undefined ? { error: run.error } : {}),
    ...(run.progress && run.status === 'running' ? { progress: run.progress } : {}),
    ...(s
      ? {
          summary: {
            repair: s.repair,
            stopped: s.stopped,
            blobs_checked: s.blobs.checked,
            bytes_verified: s.blobs.bytes,
            bytes_total: s.blobs.total,
            manifests_checked: s.manifests.checked,
            blobs_listed: s.storage.listed,
            orphans_in_grace: s.storage.orphansInGrace,
            findings: s.counts,
            remaining: s.remaining,
            repaired: s.repaired,
            findings_truncated: s.findingsTruncated,
          },
        }
      : {}),
  };
}

function findingModel(f: ScrubFinding): z.input<typeof ScrubFindingModel> {
  return f;
}

export function scrubRoutes(runs: ScrubRunsApi | undefined): ApiRoute[] {
  if (!runs) return [];
  const start = defineRoute({
    method: 'POST',
    path: '/system/scrub',
    operationId: 'startScrub',
    tag: 'scrub',
    summary: 'Start a scrub',
    description:
      'Re-hashes every blob (at scrub.rateMBps), checks every manifest and its references, and lists stored bytes no metadata knows. With repair: true, deletes bad and orphan bytes and unlinks broken blobs so that a re-push heals the images; manifests are only reported. 409 while a scrub runs.',
    access: access.system('scrub', 'create'),
    body: z.object({ repair: z.boolean().default(false).describe('Repair what can be repaired (see docs/operations.md, "Scrub").') }).prefault({}),
    errors: [409],
    responses: { 201: { description: 'Started; Location names the run.', schema: ScrubRunModel, headers: { Location: { description: 'The run (/api/v2.0/system/scrub/{id}).', schema: z.string(), required: true } } } },
    handler: async ({ body }) => {
      const run = await runs.start(body.repair);
      return respond(201, runModel(run), { Location: `${API_BASE}/system/scrub/${run.id}` });
    },
  });

  const list = defineRoute({
    method: 'GET',
    path: '/system/scrub',
    operationId: 'getScrubHistory',
    tag: 'scrub',
    summary: 'Scrub runs, newest first',
    access: access.system('scrub', 'list'),
    query: z.object(pagingQuery),
    responses: { 200: listResponse('Runs.', ScrubRunModel) },
    handler: async ({ query }, ctx) => {
      const page = pageOf(query);
      const all = await runs.history();
      const from = (page.page - 1) * page.pageSize;
      return listed(ctx, all.slice(from, from + page.pageSize).map(runModel), all.length, page);
    },
  });

  const show = defineRoute({
    method: 'GET',
    path: '/system/scrub/{id}',
    operationId: 'getScrub',
    tag: 'scrub',
    summary: 'One scrub run with a page of its findings',
    access: access.system('scrub', 'read'),
    params: idParams,
    query: z.object(pagingQuery),
    errors: [404],
    responses: {
      200: {
        description: 'The run; findings are paged (page, page_size), the Link header names the neighbouring pages.',
        schema: ScrubRunDetailModel,
        headers: { Link: { description: 'The previous and next pages of findings (rel="prev", rel="next"), when there are any.', schema: z.string() } },
      },
    },
    handler: async ({ params, query }, ctx) => {
      const run = await runs.run(params.id);
      const findings = await runs.findings(params.id);
      const page = pageOf(query);
      const from = (page.page - 1) * page.pageSize;
      const link = pageLinks(ctx.request.url, page, findings.length);
      return respond(200, { ...runModel(run), findings: findings.slice(from, from + page.pageSize).map(findingModel), finding_total: findings.length }, link ? { Link: link } : undefined);
    },
  });

  const stop = defineRoute({
    method: 'PATCH',
    path: '/system/scrub/{id}',
    operationId: 'stopScrub',
    tag: 'scrub',
    summary: 'Stop a running scrub',
    description: 'The run ends soon, keeping what it checked and found so far (status Stopped). Send it to the replica that runs it; 409 when the run is not running.',
    access: access.system('scrub', 'stop'),
    params: idParams,
    errors: [404, 409],
    responses: { 200: { description: 'Asked to stop; the run ends shortly.', schema: ScrubRunModel } },
    handler: async ({ params }) => respond(200, runModel(await runs.stop(params.id))),
  });

  return [start, list, show, stop];
}
