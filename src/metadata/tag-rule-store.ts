// Where tag rules live: a project's immutability rules and its retention policy (Harbor's JSON
// models, validated by their use cases before they get here), and the tasks of retention runs.
// Kysely, so one implementation runs on SQLite and PostgreSQL. Every change of a rule writes a
// `tag-rules.changed` event in its transaction, with this process's origin, so that every other
// process (replicas, the CLI) reloads its rules (policy/immutability.ts, retention/).
//
// Concurrency: each change is one transaction; a second retention policy for a project fails on
// the unique project_id (`conflict`). Cost: rules are read whole per project (at most 15 rules)
// or all at once for a snapshot (one query); nothing here is on a push's path.
import type { Kysely } from 'kysely';
import { eventTime, type Actor } from '../events/events.js';
import { alreadyExists } from '../util/domain-error.js';
import type { Db } from './db.js';
import { directWrites, type WriteGate } from './metadata-store.js';
import { appendToOutbox } from './outbox.js';
import type { Database } from './schema.js';

export interface StoredRule<R> {
  id: number;
  projectId: number;
  project: string;
  rule: R;
}

export interface StoredPolicy<P> {
  id: number;
  projectId: number;
  policy: P;
  createdAt: number;
  updatedAt: number;
}

export interface RetentionTaskRow<L> {
  id: number;
  policyId: number;
  executionId: number;
  repository: string;
  status: string;
  startTime: number;
  endTime: number | null;
  total: number;
  retained: number;
  log: L;
}

export class TagRuleStore {
  private readonly listeners: Array<(kind: 'immutable' | 'retention') => void | Promise<void>> = [];

  constructor(
    private readonly db: Db,
    /** Names this process in the events it writes, so that it does not apply them twice. */
    readonly origin: string,
    private readonly writes: WriteGate = directWrites,
  ) {}

  /** Called after every change this process committed (the change returns once they are done). */
  onChange(listener: (kind: 'immutable' | 'retention') => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /**
   * Runs a change of a rule or policy in a transaction with its `tag-rules.changed` event. `fn`
   * returns the new id for a creation, and whether the rule existed otherwise (no event when not).
   */
  private async change<T extends number | boolean>(
    kind: 'immutable' | 'retention',
    project: { id: number; name: string },
    actor: Actor,
    what: { change: 'created' } | { change: 'updated' | 'deleted'; id: number },
    fn: (trx: Kysely<Database>) => Promise<T>,
  ): Promise<T> {
    const result = await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        const out = await fn(trx);
        if (out === false) return out;
        const ruleId = what.change === 'created' ? (out as number) : what.id;
        await appendToOutbox(trx, [{ type: 'tag-rules.changed', at: eventTime(), actor, kind, change: what.change, ruleId, project: project.name, projectId: project.id, origin: this.origin }]);
        return out;
      }),
    );
    await Promise.all(this.listeners.map((l) => l(kind)));
    return result;
  }

  // --- immutability rules

  async immutableRules<R>(projectId?: number): Promise<Array<StoredRule<R>>> {
    let q = this.db.selectFrom('immutable_rules as ir').innerJoin('projects as p', 'p.id', 'ir.project_id').select(['ir.id', 'ir.project_id', 'ir.rule', 'p.name']).orderBy('ir.id');
    if (projectId !== undefined) q = q.where('ir.project_id', '=', projectId);
    return (await q.execute()).map((r) => ({ id: Number(r.id), projectId: Number(r.project_id), project: r.name, rule: JSON.parse(r.rule) as R }));
  }

  async addImmutableRule<R>(project: { id: number; name: string }, rule: R, actor: Actor, max: number): Promise<number> {
    return this.change('immutable', project, actor, { change: 'created' }, async (trx) => {
      const { n } = await trx.selectFrom('immutable_rules').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', project.id).executeTakeFirstOrThrow();
      if (Number(n) >= max) throw alreadyExists(`project ${project.name} already has ${max} immutability rules, the most it may have: change or delete one`);
      const now = Date.now();
      const row = await trx.insertInto('immutable_rules').values({ project_id: project.id, rule: JSON.stringify(rule), created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      return Number(row.id);
    });
  }

  /** False when the project has no such rule. */
  async updateImmutableRule<R>(project: { id: number; name: string }, id: number, rule: R, actor: Actor): Promise<boolean> {
    return this.change('immutable', project, actor, { change: 'updated', id }, async (trx) => {
      const r = await trx.updateTable('immutable_rules').set({ rule: JSON.stringify(rule), updated_at: Date.now() }).where('id', '=', id).where('project_id', '=', project.id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async deleteImmutableRule(project: { id: number; name: string }, id: number, actor: Actor): Promise<boolean> {
    return this.change('immutable', project, actor, { change: 'deleted', id }, async (trx) => {
      const r = await trx.deleteFrom('immutable_rules').where('id', '=', id).where('project_id', '=', project.id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** The tags of a manifest of a repository (committed state), for the immutability decider. */
  async tagsOf(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags as t')
      .innerJoin('repositories as r', 'r.id', 't.repository_id')
      .select('t.name')
      .where('r.name', '=', repository)
      .where('t.digest', '=', digest)
      .execute();
    return rows.map((r) => r.name);
  }

  // --- retention policies

  /** Every policy of a project that exists (a deleted project's policy is ignored). */
  async retentionPolicies<P>(): Promise<Array<StoredPolicy<P>>> {
    const rows = await this.db
      .selectFrom('retention_policies as rp')
      .innerJoin('projects as p', 'p.id', 'rp.project_id')
      .select(['rp.id', 'rp.project_id', 'rp.policy', 'rp.created_at', 'rp.updated_at'])
      .orderBy('rp.id')
      .execute();
    return rows.map(policyRow<P>);
  }

  async retentionPolicy<P>(id: number): Promise<StoredPolicy<P> | undefined> {
    const row = await this.db.selectFrom('retention_policies').selectAll().where('id', '=', id).executeTakeFirst();
    return row && policyRow<P>(row);
  }

  async addRetentionPolicy<P>(project: { id: number; name: string }, policy: P, actor: Actor): Promise<number> {
    return this.change('retention', project, actor, { change: 'created' }, async (trx) => {
      const existing = await trx.selectFrom('retention_policies').select('id').where('project_id', '=', project.id).executeTakeFirst();
      if (existing) throw alreadyExists(`project ${project.name} already has retention policy ${existing.id}: change it (PUT /retentions/${existing.id}) instead`);
      const now = Date.now();
      const row = await trx.insertInto('retention_policies').values({ project_id: project.id, policy: JSON.stringify(policy), created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      return Number(row.id);
    });
  }

  async updateRetentionPolicy<P>(project: { id: number; name: string }, id: number, policy: P, actor: Actor): Promise<boolean> {
    return this.change('retention', project, actor, { change: 'updated', id }, async (trx) => {
      const r = await trx.updateTable('retention_policies').set({ policy: JSON.stringify(policy), updated_at: Date.now() }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async deleteRetentionPolicy(project: { id: number; name: string }, id: number, actor: Actor): Promise<boolean> {
    return this.change('retention', project, actor, { change: 'deleted', id }, async (trx) => {
      await trx.deleteFrom('retention_tasks').where('policy_id', '=', id).execute();
      const r = await trx.deleteFrom('retention_policies').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  // --- retention tasks (written by the retention job; no events)

  async addTask<L>(task: Omit<RetentionTaskRow<L>, 'id'>): Promise<number> {
    const row = await this.writes(() =>
      this.db
        .insertInto('retention_tasks')
        .values({
          policy_id: task.policyId,
          execution_id: task.executionId,
          repository: task.repository,
          status: task.status,
          start_time: task.startTime,
          end_time: task.endTime,
          total: task.total,
          retained: task.retained,
          log: JSON.stringify(task.log),
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return Number(row.id);
  }

  /** Deletes the tasks of a policy's executions but the newest `keep` (the scheduler's history keeps as many runs). */
  async pruneTasks(policyId: number, keep: number): Promise<void> {
    const newest = await this.db
      .selectFrom('retention_tasks')
      .select('execution_id')
      .distinct()
      .where('policy_id', '=', policyId)
      .orderBy('execution_id', 'desc')
      .limit(keep)
      .execute();
    if (newest.length < keep) return;
    const oldestKept = Math.min(...newest.map((r) => Number(r.execution_id)));
    await this.writes(() => this.db.deleteFrom('retention_tasks').where('policy_id', '=', policyId).where('execution_id', '<', oldestKept).execute());
  }

  async tasks<L>(policyId: number, executionId: number): Promise<Array<RetentionTaskRow<L>>> {
    const rows = await this.db.selectFrom('retention_tasks').selectAll().where('policy_id', '=', policyId).where('execution_id', '=', executionId).orderBy('id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      policyId: Number(r.policy_id),
      executionId: Number(r.execution_id),
      repository: r.repository,
      status: r.status,
      startTime: Number(r.start_time),
      endTime: r.end_time === null ? null : Number(r.end_time),
      total: Number(r.total),
      retained: Number(r.retained),
      log: JSON.parse(r.log) as L,
    }));
  }
}

function policyRow<P>(r: { id: number; project_id: number; policy: string; created_at: number; updated_at: number }): StoredPolicy<P> {
  return { id: Number(r.id), projectId: Number(r.project_id), policy: JSON.parse(r.policy) as P, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) };
}
