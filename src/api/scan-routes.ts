// Vulnerability scanning on the management API, in Harbor's shape: scan an artifact (202) and
// stop it, its report as the `vulnerabilities` addition (keyed by the report's MIME type), the
// scan log, the scan-all schedule (GET/PUT; POST with type Manual scans every image now) and its
// stop and metrics, and the scan_overview model the artifact list and get embed. Handlers parse
// and respond; scan/scan-service.ts does the work. Permissions: Harbor's `scan` resource in the
// project, `artifact-addition` to read a report, the system resource `scan-all`.
import { z } from 'zod';
import type { Repositories } from '../core/repositories.js';
import { JobBusyError, type Scheduler } from '../jobs/scheduler.js';
import { SCAN_ALL_JOB, SCANNABLE_TYPES, type ScanAllSchedule, type ScanService } from '../scan/scan-service.js';
import type { ScanReports } from '../scan/reports.js';
import { access, fromParam } from './access.js';
import { ApiError } from './errors.js';
import { HarborVulnerabilityReport, ScanAllScheduleModel, Stats, VULNERABILITY_REPORT_TYPE } from './scan-models.js';
import { artifactParams } from './repository-routes.js';
import { API_BASE, defineRoute, respond, type ApiRoute } from './route.js';

const ScanRequestType = z.object({ scan_type: z.enum(['vulnerability']).optional().describe('Only vulnerability: SBOMs are made elsewhere.') }).optional();

export interface ScanRoutesDeps {
  repositories: Pick<Repositories, 'artifact'>;
  service: ScanService;
  reports: ScanReports;
  jobs: Scheduler;
  schedule(): ScanAllSchedule;
  setSchedule(schedule: ScanAllSchedule): Promise<void>;
}

export function scanRoutes(deps: ScanRoutesDeps): ApiRoute[] {
  const { service, reports, jobs } = deps;
  const project = fromParam('project_name');
  const base = '/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}';
  const full = (p: { project_name: string; repository_name: string }) => `${p.project_name}/${p.repository_name}`;
  const target = async (p: z.output<typeof artifactParams>) => {
    const a = await deps.repositories.artifact(full(p), p.reference);
    return { repository: full(p), digest: a.digest, mediaType: a.mediaType };
  };
  const reportParams = artifactParams.extend({ report_id: z.string().min(1).max(64) });
  const scheduleBody = () => {
    const s = deps.schedule();
    const next = jobs.nextRun(SCAN_ALL_JOB);
    return { schedule: { type: s.type, ...(s.cron !== undefined && s.type === 'Custom' ? { cron: s.cron } : {}), ...(next ? { next_scheduled_time: next.toISOString() } : {}) } };
  };
  const scheduleOf = (body: z.output<typeof ScanAllScheduleModel>): ScanAllSchedule => {
    const type = body.schedule?.type ?? 'None';
    if (type === 'Custom' && !body.schedule?.cron) throw new ApiError('BAD_REQUEST', 'a Custom schedule needs a cron, e.g. {"type":"Custom","cron":"0 0 3 * * *"}');
    return type === 'Custom' ? { type, cron: body.schedule!.cron } : { type };
  };
  const setSchedule = async (schedule: ScanAllSchedule) => {
    try {
      await deps.setSchedule(schedule);
    } catch (err) {
      throw new ApiError('BAD_REQUEST', `cron ${schedule.cron ?? schedule.type}: ${(err as Error).message}`);
    }
  };

  return [
    defineRoute({
      method: 'POST',
      path: `${base}/scan`,
      operationId: 'scanArtifact',
      summary: 'Scan an artifact',
      description: 'Queues a vulnerability scan of an image manifest with the built-in scanner; its report follows at GET .../additions/vulnerabilities. An image index is not scanned itself: scan its platform manifests by digest.',
      tag: 'scan',
      access: access.project('scan', 'create', project),
      params: artifactParams,
      body: ScanRequestType,
      responses: { 202: { description: 'Queued (or already queued or running).' } },
      errors: [400, 404],
      handler: async ({ params }) => {
        const t = await target(params);
        if (!SCANNABLE_TYPES.includes(t.mediaType)) throw new ApiError('BAD_REQUEST', `${params.reference} is an ${t.mediaType}, not an image manifest: scan its platform manifests by digest`);
        await service.request(t);
        return respond(202, undefined);
      },
    }),
    defineRoute({
      method: 'POST',
      path: `${base}/scan/stop`,
      operationId: 'stopScanArtifact',
      summary: "Stop an artifact's scan",
      tag: 'scan',
      access: access.project('scan', 'stop', project),
      params: artifactParams,
      body: ScanRequestType,
      responses: { 202: { description: 'Stopped: the report is Stopped.' } },
      errors: [400, 404],
      handler: async ({ params }) => {
        const t = await target(params);
        if (!(await service.stop(t.digest))) throw new ApiError('BAD_REQUEST', `no scan of ${params.reference} is queued or running here: nothing to stop`);
        return respond(202, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/scan/{report_id}/log`,
      operationId: 'getReportLog',
      summary: "A scan's log",
      tag: 'scan',
      access: access.project('scan', 'read', project),
      params: reportParams,
      responses: { 200: { description: 'The log, as text.', schema: z.string(), contentType: 'text/plain' } },
      errors: [404],
      handler: async ({ params }) => {
        const t = await target(params);
        const r = await reports.report(t.digest);
        if (!r || r.reportId !== params.report_id) throw new ApiError('NOT_FOUND', `no report ${params.report_id} of ${params.reference} (its latest report's id is in scan_overview)`);
        const lines = [`${new Date(r.startTime).toISOString()} scan of ${r.repository}@${r.digest} by ${r.scanner.name} ${r.scanner.version}`];
        if (r.endTime !== undefined) lines.push(`${new Date(r.endTime).toISOString()} ${r.status}${r.error ? `: ${r.error}` : ''}${r.summary ? `: ${r.summary.total} vulnerabilities, ${r.summary.fixable} fixable` : ''}`);
        else lines.push(`${r.status}`);
        return respond(200, `${lines.join('\n')}\n`);
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/additions/vulnerabilities`,
      operationId: 'getVulnerabilitiesAddition',
      summary: "An artifact's vulnerability report (Harbor's vulnerabilities addition)",
      description: `The latest successful report, keyed by its MIME type (${VULNERABILITY_REPORT_TYPE}); {} when the artifact has none.`,
      tag: 'artifact',
      access: access.project('artifact-addition', 'read', project),
      params: artifactParams,
      responses: { 200: { description: 'The report by MIME type.', schema: z.record(z.string(), HarborVulnerabilityReport) } },
      errors: [404],
      handler: async ({ params }) => {
        const t = await target(params);
        const r = await reports.report(t.digest);
        if (!r || r.status !== 'Success') return respond(200, {});
        return respond(200, {
          [VULNERABILITY_REPORT_TYPE]: {
            generated_at: new Date(r.endTime ?? r.startTime).toISOString(),
            artifact: { repository: t.repository, digest: t.digest, mime_type: t.mediaType },
            scanner: r.scanner,
            severity: r.summary?.severity ?? 'None',
            vulnerabilities: r.findings.map((f) => ({
              id: f.id,
              package: f.package,
              version: f.version,
              fix_version: f.fixVersion ?? '',
              severity: f.severity,
              description: f.description ?? '',
              links: f.links,
              ...(f.cvss ? { preferred_cvss: { score_v3: f.cvss.scoreV3, vector_v3: f.cvss.vectorV3 } } : {}),
              cwe_ids: [],
              vendor_attributes: { aliases: f.aliases, layer_digest: f.layerDigest },
            })),
          },
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/system/scanAll/schedule',
      operationId: 'getScanAllSchedule',
      summary: 'The scan-all schedule',
      tag: 'scanAll',
      access: access.system('scan-all', 'read'),
      responses: { 200: { description: 'The schedule.', schema: ScanAllScheduleModel } },
      handler: async () => respond(200, scheduleBody()),
    }),
    defineRoute({
      method: 'PUT',
      path: '/system/scanAll/schedule',
      operationId: 'updateScanAllSchedule',
      summary: 'Sets the scan-all schedule',
      description: 'Every image is scanned on the schedule: one with a stored inventory is re-matched against the current data, others are scanned from their layers.',
      tag: 'scanAll',
      access: access.system('scan-all', 'update'),
      body: ScanAllScheduleModel,
      responses: { 200: { description: 'Set.' } },
      handler: async ({ body }) => {
        const schedule = scheduleOf(body);
        if (schedule.type === 'Manual') throw new ApiError('BAD_REQUEST', 'a Manual schedule is a run now: POST /api/v2.0/system/scanAll/schedule');
        await setSchedule(schedule);
        return respond(200, undefined);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/system/scanAll/schedule',
      operationId: 'createScanAllSchedule',
      summary: 'Scans every image now (type Manual), or sets the schedule',
      tag: 'scanAll',
      access: access.system('scan-all', 'create'),
      body: ScanAllScheduleModel,
      responses: { 201: { description: 'Started (Manual) or set.', headers: { Location: { description: 'The schedule, or the run\'s metrics.', schema: z.string(), required: true } } } },
      errors: [409],
      handler: async ({ body }) => {
        const schedule = scheduleOf(body);
        if (schedule.type !== 'Manual') {
          await setSchedule(schedule);
          return respond(201, undefined, { Location: `${API_BASE}/system/scanAll/schedule` });
        }
        try {
          const { finished } = await jobs.start(SCAN_ALL_JOB, {});
          finished.catch(() => undefined); // the scheduler logs and records the outcome
        } catch (err) {
          if (err instanceof JobBusyError) throw new ApiError('CONFLICT', 'a scan of every image is going on (here or on another replica): wait for it (GET /api/v2.0/scans/all/metrics), or stop it');
          throw err;
        }
        return respond(201, undefined, { Location: `${API_BASE}/scans/all/metrics` });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/system/scanAll/stop',
      operationId: 'stopScanAll',
      summary: 'Stop scanning every image',
      tag: 'scanAll',
      access: access.system('scan-all', 'stop'),
      responses: { 202: { description: 'Stop asked.' } },
      errors: [400],
      handler: async () => {
        const run = (await jobs.history(SCAN_ALL_JOB)).find((r) => r.status === 'running');
        if (!run || !(await jobs.stop(SCAN_ALL_JOB, run.id))) throw new ApiError('BAD_REQUEST', 'no scan of every image is running');
        return respond(202, undefined);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/scans/all/metrics',
      operationId: 'getLatestScanAllMetrics',
      summary: 'The latest scan of every image: how far, and its outcomes',
      tag: 'scanAll',
      access: access.system('scan-all', 'read'),
      responses: { 200: { description: 'The metrics.', schema: Stats } },
      handler: async () => {
        const run = jobs.current(SCAN_ALL_JOB) ?? (await jobs.history(SCAN_ALL_JOB))[0];
        if (!run) return respond(200, { total: 0, completed: 0, metrics: {}, ongoing: false });
        const r = (run.result ?? {}) as { images?: number; scanned?: number; rematched?: number; failed?: number };
        const total = run.status === 'running' ? (run.progress?.done ?? 0) : Number(r.images ?? 0);
        const failed = Number(r.failed ?? 0);
        return respond(200, {
          total,
          completed: total,
          metrics: run.status === 'running' ? {} : { Success: total - failed, Error: failed },
          ongoing: run.status === 'running',
          trigger: run.trigger === 'manual' ? 'Manual' : 'Schedule',
        });
      },
    }),
  ];
}
