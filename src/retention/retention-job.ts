// One retention run of one policy: for every repository of its project that a rule's scope
// selects, read the facts, make the plan (retention-plan.ts), and, unless it is a dry run, delete
// what the plan deletes through the registry's delete use case (core/artifacts.ts), so the
// policy points (permissions, immutability), events, quota usage and the audit log follow as for
// any delete; the audit log names the retention job as who deleted. Each repository's plan is
// kept as a task (its log lists every artifact with RETAIN or DEL and why); the run ends with a
// `retention.completed` event (Harbor's TAG_RETENTION).
//
// A stop (or the fleet lock lost) ends the run between two deletes: what was deleted stays
// deleted, the rest is reported as not done, and the next run picks it up.
import { TagsChanged, type Artifacts } from '../core/artifacts.js';
import { eventTime, type Actor, type RegistryEvent } from '../events/events.js';
import type { JobContext } from '../jobs/scheduler.js';
import type { StoredPolicy, TagRuleStore } from '../metadata/tag-rule-store.js';
import { OciError } from '../oci/errors.js';
import type { ImmutableRules } from '../policy/immutability.js';
import type { RepositoryFacts } from './repository-facts.js';
import { planRepository, type PlanItem } from './retention-plan.js';
import type { RetentionPolicy } from './retention-policy.js';

/** Who deletes: the retention job (the audit log's username), not a user. */
export const RETENTION_ACTOR: Actor = { kind: 'system', name: 'retention' };

/** Runs whose tasks are kept per policy (the scheduler's default history size). */
const TASK_HISTORY = 50;

export interface RetentionParams {
  executionId: number;
  dryRun: boolean;
  trigger: 'MANUAL' | 'SCHEDULE';
}

/** A task's log entry: the plan's item, and the error when its delete failed. */
export type TaskLogItem = PlanItem & { error?: string };

export interface RetentionSummary {
  executionId: number;
  policyId: number;
  project: string;
  dryRun: boolean;
  repositories: number;
  total: number;
  retained: number;
  deleted: number;
  failed: number;
}

export interface RetentionRunDeps {
  facts: RepositoryFacts;
  store: Pick<TagRuleStore, 'addTask' | 'pruneTasks'>;
  artifacts: Pick<Artifacts, 'deleteManifest'>;
  immutable: Pick<ImmutableRules, 'isImmutable'>;
  /** Where `retention.completed` goes (the event batcher). */
  events: { add(event: RegistryEvent): void };
}

export async function runRetention(
  deps: RetentionRunDeps,
  stored: StoredPolicy<RetentionPolicy>,
  project: { id: number; name: string },
  ctx: JobContext<RetentionParams>,
): Promise<RetentionSummary> {
  const { params, signal } = ctx;
  const summary: RetentionSummary = { executionId: params.executionId, policyId: stored.id, project: project.name, dryRun: params.dryRun, repositories: 0, total: 0, retained: 0, deleted: 0, failed: 0 };
  const repositories = await deps.facts.repositories(project.name);
  let status = 'Succeed';
  try {
    for (const [i, repo] of repositories.entries()) {
      ctx.progress({ done: i, total: repositories.length, unit: 'repositories', phase: repo.name });
      if (signal.aborted) break;
      const startTime = Date.now();
      const plan = planRepository({
        repository: repo.name,
        manifests: await deps.facts.manifests(repo.id),
        rules: stored.policy.rules,
        immutable: (tag) => deps.immutable.isImmutable(repo.name, tag),
        now: startTime,
      });
      if (!plan) continue;
      summary.repositories++;
      const log: TaskLogItem[] = [];
      let taskStatus = 'Succeed';
      for (const item of plan) {
        if (item.action === 'DEL' && !params.dryRun) {
          if (signal.aborted) {
            log.push({ ...item, error: 'not deleted: the run was stopped' });
            taskStatus = 'Stopped';
            continue;
          }
          const outcome = await deleteArtifact(deps, repo.name, item);
          if (outcome.kept !== undefined) {
            log.push({ ...item, action: 'RETAIN', reason: outcome.kept });
            summary.retained++;
            continue;
          }
          if (outcome.error !== undefined) {
            log.push({ ...item, error: outcome.error });
            summary.failed++;
            taskStatus = 'Error';
            continue;
          }
        }
        log.push(item);
        if (item.action === 'DEL') summary.deleted++;
        else summary.retained++;
      }
      summary.total += plan.length;
      await deps.store.addTask<TaskLogItem[]>({
        policyId: stored.id,
        executionId: params.executionId,
        repository: repo.name,
        status: taskStatus,
        startTime,
        endTime: Date.now(),
        total: plan.length,
        retained: log.filter((l) => l.action === 'RETAIN').length,
        log,
      });
      if (taskStatus === 'Error') status = 'Error';
    }
    ctx.progress({ done: repositories.length, total: repositories.length, unit: 'repositories' });
  } catch (err) {
    status = 'Error';
    throw err;
  } finally {
    if (signal.aborted && status !== 'Error') status = 'Stopped';
    deps.events.add({ type: 'retention.completed', at: eventTime(), actor: RETENTION_ACTOR, project: project.name, projectId: project.id, policyId: stored.id, executionId: params.executionId, dryRun: params.dryRun, status, total: summary.total, retained: summary.retained, deleted: summary.deleted });
  }
  // The scheduler keeps the last 50 runs; their tasks are kept as long.
  await deps.store.pruneTasks(stored.id, TASK_HISTORY).catch((err: unknown) => ctx.log.warn({ err }, 'could not prune the tasks of old retention runs; the next run tries again'));
  if (summary.failed > 0) ctx.log.warn({ failed: summary.failed }, `retention of project ${project.name} could not delete ${summary.failed} artifact(s); the execution's task logs say why`);
  return summary;
}

/**
 * Deletes one artifact as the retention job; the error's message when it was refused (one already
 * gone counts as deleted). An artifact whose tags changed since the plan was made (a push tagged
 * it meanwhile) is left alone: the plan no longer describes it, and the next run decides again.
 * The delete checks the tags in its own transaction, so no push can slip in between.
 */
async function deleteArtifact(deps: RetentionRunDeps, repository: string, item: PlanItem): Promise<{ kept?: string; error?: string }> {
  try {
    await deps.artifacts.deleteManifest({ actor: RETENTION_ACTOR }, repository, item.digest, { onlyIfTags: item.tags });
    return {};
  } catch (err) {
    if (err instanceof TagsChanged) return { kept: `${err.message} since the plan; the next run decides again` };
    if (err instanceof OciError && err.code === 'MANIFEST_UNKNOWN') return {};
    if (err instanceof OciError) return { error: `not deleted: ${err.message}` };
    throw err;
  }
}
