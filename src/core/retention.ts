// Tag retention as use cases: a project's one policy (create, read, change, delete; the project's
// `retention_id` metadata follows), its runs (start, with dry run; list; stop) and their tasks.
//
// Runs are jobs of the one scheduler (jobs/scheduler.ts), one job per policy, `retention-<id>`:
// so each policy has its own cron schedule, its own fleet lock (two projects' runs do not wait for
// each other, two runs of one policy never overlap) and its own history. A job is registered when
// its policy is first seen and stays registered (the scheduler cannot drop one); a deleted
// policy's job loses its schedule and refuses to run. Every process keeps the schedules of every
// policy (sync(), after each change here and when the outbox brings one from elsewhere); the fleet
// lock makes one of them run each scheduled time.
//
// An execution's id is chosen when the run is asked for (ms since the epoch, increasing in this
// process), so the API can answer a start with its Location, and a scheduled run gets one too.
import type { Logger } from 'pino';
import type { ProjectRecord } from '../auth/access-store.js';
import type { Actor } from '../events/events.js';
import { JobBusyError, type JobRun, type Scheduler } from '../jobs/scheduler.js';
import type { RetentionTaskRow, TagRuleStore } from '../metadata/tag-rule-store.js';
import { runRetention, type RetentionParams, type RetentionRunDeps, type RetentionSummary, type TaskLogItem } from '../retention/retention-job.js';
import { checkPolicy, type RetentionPolicy } from '../retention/retention-policy.js';
import { alreadyExists, DomainError, invalid, notFound } from '../util/domain-error.js';
import { checkSelectors } from './immutable-rules.js';
import type { Projects } from './projects.js';

export interface RetentionDeps {
  store: TagRuleStore;
  jobs: Scheduler;
  projects: Projects;
  run: RetentionRunDeps;
  log: Logger;
}

export type RetentionPolicyView = RetentionPolicy & { id: number };

export interface RetentionExecution {
  id: number;
  policyId: number;
  trigger: RetentionParams['trigger'];
  dryRun: boolean;
  status: 'Running' | 'Succeed' | 'Error' | 'Stopped';
  startedAt: number;
  finishedAt?: number;
  error?: string;
  summary?: RetentionSummary;
}

const STATUS: Record<JobRun['status'], RetentionExecution['status']> = { running: 'Running', succeeded: 'Succeed', failed: 'Error', stopped: 'Stopped' };

export const jobName = (policyId: number) => `retention-${policyId}`;

export class Retention {
  private readonly registered = new Set<number>();
  private lastId = 0;

  constructor(private readonly deps: RetentionDeps) {
    deps.store.onChange((kind) => (kind === 'retention' ? this.sync() : undefined));
  }

  /** Registers every policy's job with its schedule. */
  start(): Promise<void> {
    return this.sync();
  }

  /** Brings the jobs' schedules in line with the stored policies (after a change here or elsewhere). */
  async sync(): Promise<void> {
    const policies = await this.deps.store.retentionPolicies<RetentionPolicy>();
    const live = new Set<number>();
    for (const p of policies) {
      live.add(p.id);
      this.ensureJob(p.id);
      const cron = p.policy.trigger.settings.cron.trim();
      try {
        this.deps.jobs.schedule(jobName(p.id), cron === '' ? undefined : cron);
      } catch (err) {
        this.deps.log.error({ err, policy: p.id }, `retention policy ${p.id} has a schedule croner refuses (${cron}); it runs only when asked until it is corrected`);
      }
    }
    for (const id of this.registered) if (!live.has(id)) this.deps.jobs.schedule(jobName(id), undefined);
  }

  private nextId(): number {
    this.lastId = Math.max(Date.now(), this.lastId + 1);
    return this.lastId;
  }

  private ensureJob(policyId: number): void {
    if (this.registered.has(policyId)) return;
    this.registered.add(policyId);
    this.deps.jobs.register<RetentionParams, RetentionSummary>({
      name: jobName(policyId),
      scheduledParams: () => ({ executionId: this.nextId(), dryRun: false, trigger: 'SCHEDULE' }),
      run: async (ctx) => {
        const stored = await this.deps.store.retentionPolicy<RetentionPolicy>(policyId);
        if (!stored) throw new Error(`retention policy ${policyId} was deleted`);
        const project = await this.deps.projects.store.getProject(stored.projectId);
        if (!project) throw new Error(`the project of retention policy ${policyId} was deleted`);
        return runRetention(this.deps.run, stored, project, ctx);
      },
    });
  }

  /** Checks a policy (as the API's schema gave it); INVALID with the reason otherwise. */
  private check(policy: RetentionPolicy): void {
    try {
      checkPolicy(policy);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    for (const rule of policy.rules) checkSelectors(rule);
  }

  async create(policy: RetentionPolicy, actor: Actor): Promise<number> {
    this.check(policy);
    const project = await this.deps.projects.project(policy.scope.ref);
    const { id: _ignored, ...stored } = policy;
    const id = await this.deps.store.addRetentionPolicy(project, stored, actor);
    await this.deps.projects.update(project, { metadata: { retention_id: String(id) } }, actor);
    return id;
  }

  async get(id: number): Promise<RetentionPolicyView> {
    const stored = await this.deps.store.retentionPolicy<RetentionPolicy>(id);
    if (!stored) throw notFound(`retention policy ${id} does not exist`);
    return { ...stored.policy, id, scope: { level: 'project', ref: stored.projectId } };
  }

  /** The name of the project a policy belongs to (for access rules); undefined when there is no such policy. */
  async projectOf(id: number): Promise<string | undefined> {
    const stored = await this.deps.store.retentionPolicy<RetentionPolicy>(id);
    return stored && (await this.deps.projects.store.getProject(stored.projectId))?.name;
  }

  async update(id: number, policy: RetentionPolicy, actor: Actor): Promise<void> {
    const current = await this.get(id);
    if (policy.scope.ref !== current.scope.ref) throw invalid(`retention policy ${id} belongs to project ${current.scope.ref}; a policy cannot move to another project`);
    this.check(policy);
    const { id: _ignored, ...stored } = policy;
    await this.deps.store.updateRetentionPolicy(await this.project(current), id, stored, actor);
  }

  async delete(id: number, actor: Actor): Promise<void> {
    const current = await this.get(id);
    const project = await this.project(current);
    await this.deps.store.deleteRetentionPolicy(project, id, actor);
    await this.deps.projects.store.deleteProjectMetadata(project.id, 'retention_id', actor).catch((err: unknown) => {
      if (!(err instanceof DomainError && err.code === 'NOT_FOUND')) throw err;
    });
  }

  private project(policy: RetentionPolicyView): Promise<ProjectRecord> {
    return this.deps.projects.project(policy.scope.ref);
  }

  /** Starts a run now (a dry run deletes nothing); returns its execution id. CONFLICT while one runs. */
  async execute(id: number, dryRun: boolean): Promise<number> {
    await this.get(id);
    this.ensureJob(id);
    const executionId = this.nextId();
    try {
      await this.deps.jobs.start(jobName(id), { executionId, dryRun, trigger: 'MANUAL' } satisfies RetentionParams);
    } catch (err) {
      if (err instanceof JobBusyError) throw alreadyExists(`a run of retention policy ${id} is going on (in this or another replica): wait for it to end, or stop it`);
      throw err;
    }
    return executionId;
  }

  /** The policy's runs, newest first (the scheduler's history, shared by the fleet). */
  async executions(id: number): Promise<RetentionExecution[]> {
    await this.get(id);
    this.ensureJob(id);
    const runs = await this.deps.jobs.history(jobName(id));
    return runs.filter((r) => typeof r.params.executionId === 'number').map((r) => executionOf(id, r));
  }

  async execution(id: number, executionId: number): Promise<RetentionExecution> {
    const found = (await this.executions(id)).find((e) => e.id === executionId);
    if (!found) throw notFound(`retention policy ${id} has no execution ${executionId}`);
    return found;
  }

  /** Stops a run, in whichever replica it runs. */
  async stop(id: number, executionId: number): Promise<void> {
    const execution = await this.execution(id, executionId);
    if (execution.status !== 'Running') throw new DomainError('CONFLICT', `execution ${executionId} has already ended (${execution.status})`);
    const run = (await this.deps.jobs.history(jobName(id))).find((r) => r.params.executionId === executionId);
    if (!run || !(await this.deps.jobs.stop(jobName(id), run.id))) throw new DomainError('CONFLICT', `execution ${executionId} has already ended`);
  }

  async tasks(id: number, executionId: number): Promise<Array<RetentionTaskRow<TaskLogItem[]>>> {
    await this.execution(id, executionId);
    return this.deps.store.tasks<TaskLogItem[]>(id, executionId);
  }

  async task(id: number, executionId: number, taskId: number): Promise<RetentionTaskRow<TaskLogItem[]>> {
    const task = (await this.tasks(id, executionId)).find((t) => t.id === taskId);
    if (!task) throw notFound(`execution ${executionId} of retention policy ${id} has no task ${taskId}`);
    return task;
  }
}

function executionOf(policyId: number, run: JobRun): RetentionExecution {
  const params = run.params as unknown as RetentionParams;
  return {
    id: params.executionId,
    policyId,
    trigger: params.trigger,
    dryRun: params.dryRun,
    status: STATUS[run.status],
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    summary: run.result as RetentionSummary | undefined,
  };
}
