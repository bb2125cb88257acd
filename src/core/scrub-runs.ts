// The scrub as a background job (jobs/scheduler.ts, job "scrub", params {repair}): one run at a
// time in the fleet, on a schedule or on demand, its history and progress in the shared store,
// and its findings kept beside the history (the key jobs/scrub/findings/<run id>.json, the last
// HISTORY runs), so any replica and the CLI can show them. What the API and the CLI call.
import type { KeyValueStore } from '../coordination/coordination.js';
import { JobBusyError, type JobRun, type Scheduler } from '../jobs/scheduler.js';
import { DomainError } from '../util/domain-error.js';
import type { FindingKind, ScrubFinding } from './scrub-findings.js';
import { emptyReport, type Scrub, type ScrubReport } from './scrub.js';

export const SCRUB_JOB = 'scrub';
const HISTORY = 50;
const FINDINGS_PREFIX = `jobs/${SCRUB_JOB}/findings/`;

/** A run's summary, kept as its result: the report without its findings. */
export type ScrubSummary = Omit<ScrubReport, 'findings'> & { findingsStored: number };

export interface ScrubRunsDeps {
  jobs: Pick<Scheduler, 'register' | 'schedule' | 'start' | 'stop' | 'current' | 'history' | 'find'>;
  kv: KeyValueStore;
  scrub: Scrub;
  /** A cron expression, or undefined: no schedule. */
  schedule?: string;
  /** A run went through to the end: what remains of each kind (metrics). */
  onFinished?(remaining: Record<FindingKind, number>, finishedAt: number): void;
}

export class ScrubRuns {
  /** The run going on in this process, with its report as it fills. */
  private live: { id: number; report: ScrubReport } | undefined;

  constructor(private readonly deps: ScrubRunsDeps) {
    const { jobs } = deps;
    jobs.register<{ repair?: unknown }, ScrubSummary>({
      name: SCRUB_JOB,
      // A scheduled run only reports: deleting is for a person who read the findings.
      scheduledParams: () => ({ repair: false }),
      run: async (ctx) => {
        // The run's id (the API's) names the findings.
        const id = ctx.runId;
        const report = emptyReport(ctx.params.repair === true);
        this.live = { id, report };
        try {
          await deps.scrub.run({ repair: report.repair, signal: ctx.signal, progress: (p) => ctx.progress(p) }, report);
        } finally {
          this.live = undefined;
          await this.keepFindings(id, report.findings);
        }
        if (!report.stopped) deps.onFinished?.(report.remaining, Date.now());
        const { findings, ...summary } = report;
        return { ...summary, findingsStored: findings.length };
      },
    });
    jobs.schedule(SCRUB_JOB, deps.schedule);
  }

  /** Starts a run; CONFLICT while one goes on anywhere in the fleet. */
  async start(repair: boolean): Promise<JobRun> {
    try {
      const { run, finished } = await this.deps.jobs.start(SCRUB_JOB, { repair });
      // Its end is recorded by the scheduler (history, logs, metrics); nobody waits here.
      finished.catch(() => undefined);
      return run;
    } catch (err) {
      if (err instanceof JobBusyError) throw new DomainError('CONFLICT', 'a scrub is already running (here or on another replica): wait for it to end (minato scrub status) or stop it');
      throw err;
    }
  }

  /** Runs, newest first. */
  history(): Promise<JobRun[]> {
    return this.deps.jobs.history(SCRUB_JOB);
  }

  /** One run; NOT_FOUND when there is no such run. */
  async run(id: number): Promise<JobRun> {
    const run = await this.deps.jobs.find(SCRUB_JOB, id);
    if (!run) throw new DomainError('NOT_FOUND', `no scrub run ${id} (the history keeps the last ${HISTORY})`);
    return run;
  }

  /** A run's findings: as found so far while it runs here, else as it kept them. */
  async findings(id: number): Promise<ScrubFinding[]> {
    await this.run(id);
    if (this.live?.id === id) return [...this.live.report.findings];
    const value = await this.deps.kv.load(findingsKey(id));
    return value ? (JSON.parse(value.toString('utf8')) as ScrubFinding[]) : [];
  }

  /** Asks a run to stop, in whichever replica it runs (it ends soon, with what it checked). */
  async stop(id: number): Promise<JobRun> {
    const run = await this.run(id);
    if (run.status !== 'running' || !(await this.deps.jobs.stop(SCRUB_JOB, id))) throw new DomainError('CONFLICT', `scrub run ${id} is not running (it ${run.status})`);
    return run;
  }

  /** Stores a run's findings and drops those of runs the history no longer keeps. */
  private async keepFindings(id: number, findings: ScrubFinding[]): Promise<void> {
    const { kv } = this.deps;
    await kv.store(findingsKey(id), Buffer.from(JSON.stringify(findings)));
    const keys = (await kv.list(FINDINGS_PREFIX)).filter((k) => k.endsWith('.json'));
    const ids = keys.map((k) => Number(k.slice(FINDINGS_PREFIX.length, -'.json'.length))).filter(Number.isFinite).sort((a, b) => b - a);
    for (const old of ids.slice(HISTORY)) await kv.delete(findingsKey(old));
  }
}

function findingsKey(id: number): string {
  return `${FINDINGS_PREFIX}${id}.json`;
}

