// Garbage collection as the scheduler's job `gc` (jobs/scheduler.ts): its parameters (Harbor's
// dry_run and delete_untagged), the scheduled run's defaults from the configuration (gc.*), the
// schedule an administrator sets through the API (kept in the shared store, so it survives a
// restart and every replica that starts takes it), and the text log of a run (GET .../log).
import type { KeyValueStore } from '../coordination/coordination.js';
import type { Config } from '../config/schema.js';
import type { JobContext, JobDefinition, JobRun, Scheduler } from '../jobs/scheduler.js';
import type { GarbageCollector, GcResult } from './garbage-collector.js';

export const GC_JOB = 'gc';

export interface GcParams {
  dryRun: boolean;
  deleteUntagged: boolean;
}

/** Harbor's schedule types; Custom carries its own cron, Manual and None none. */
export type ScheduleType = 'None' | 'Hourly' | 'Daily' | 'Weekly' | 'Custom' | 'Manual';

export interface GcSchedule {
  type: ScheduleType;
  cron?: string;
  /** Parameters of the scheduled runs. */
  params: GcParams;
}

/** Harbor's crons for its named schedule types (6 fields, seconds first). */
const NAMED_CRONS: Partial<Record<ScheduleType, string>> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

const SCHEDULE_KEY = 'jobs/gc/schedule.json';

export function gcJob(collector: GarbageCollector, settings: Config['gc'], observe?: (result: GcResult) => void): JobDefinition<GcParams, GcResult & Record<string, unknown>> & { schedule: GcSchedule } {
  const job = {
    name: GC_JOB,
    // What a scheduled run does; replaced by a schedule set through the API.
    schedule: {
      type: settings.schedule === undefined ? 'None' : 'Custom',
      cron: settings.schedule,
      params: { dryRun: false, deleteUntagged: settings.untagged === 'delete' },
    } as GcSchedule,
    scheduledParams: () => job.schedule.params,
    async run({ runId, params, signal, progress }: JobContext<GcParams>) {
      const result = await collector.run(
        runId,
        {
          dryRun: params.dryRun === true,
          deleteUntagged: params.deleteUntagged === true,
          untaggedMinAgeMs: settings.untaggedMinAgeHours * 3_600_000,
          graceMs: settings.graceMinutes * 60_000,
        },
        signal,
        progress,
      );
      observe?.(result);
      return result as GcResult & Record<string, unknown>;
    },
  };
  return job;
}

/** The cron a schedule runs on (undefined: none). */
export function cronOf(schedule: Pick<GcSchedule, 'type' | 'cron'>): string | undefined {
  if (schedule.type === 'Custom') return schedule.cron;
  return NAMED_CRONS[schedule.type];
}

/** The schedule set through the API, kept in the shared store, or undefined when none was set. */
export async function loadSchedule(kv: KeyValueStore): Promise<GcSchedule | undefined> {
  const value = await kv.load(SCHEDULE_KEY);
  return value ? (JSON.parse(value.toString('utf8')) as GcSchedule) : undefined;
}

/** Sets the job's schedule in this replica and keeps it in the shared store. */
export async function applySchedule(jobs: Scheduler, kv: KeyValueStore | undefined, job: { schedule: GcSchedule }, schedule: GcSchedule): Promise<void> {
  jobs.schedule(GC_JOB, cronOf(schedule));
  job.schedule = schedule;
  if (kv) await kv.store(SCHEDULE_KEY, Buffer.from(JSON.stringify(schedule)));
}

/** A run as text (Harbor's GET /system/gc/{id}/log). */
export function gcLog(run: JobRun): string {
  const at = (ms: number) => new Date(ms).toISOString();
  const lines = [`${at(run.startedAt)} gc run ${run.id} started (${run.trigger}), parameters ${JSON.stringify(run.params)}`];
  if (run.progress) lines.push(`progress: ${run.progress.phase ?? ''} ${run.progress.done}${run.progress.total === undefined ? '' : `/${run.progress.total}`} ${run.progress.unit ?? ''}`.trimEnd());
  const r = run.result as Partial<GcResult> | undefined;
  if (r) {
    lines.push(
      `${r.dryRun ? 'would free' : 'freed'} ${r.bytes ?? 0} bytes: ${r.manifests ?? 0} untagged manifests, ${r.links ?? 0} unreferenced blob links, ${r.blobs ?? 0} blobs` +
        `${r.dryRun ? '' : `, ${r.uploads ?? 0} abandoned uploads`}${r.resumed ? ` (${r.resumed} blobs left by an earlier run)` : ''}`,
    );
    const phases = Object.entries(r.phases ?? {});
    if (phases.length > 0) lines.push(`time by phase: ${phases.map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)} s`).join(', ')}`);
    for (const p of r.projects ?? []) lines.push(`  project ${p.project}: ${p.manifests} manifests, ${p.blobs} blobs, ${p.bytes} bytes`);
  }
  if (run.error) lines.push(`error: ${run.error}`);
  if (run.finishedAt !== undefined) lines.push(`${at(run.finishedAt)} ${run.status} after ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s`);
  else lines.push('running');
  return `${lines.join('\n')}\n`;
}
