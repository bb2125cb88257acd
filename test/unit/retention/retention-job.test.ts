// One retention run with small hand-written doubles: deletes go to the delete use case as the
// retention job, in the plan's order; a dry run deletes nothing but reports the same; an artifact
// a push re-tagged after the plan is kept; a refused delete is reported, not fatal; a stop ends
// the run between deletes; the run ends with retention.completed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { RegistryEvent } from '../../../src/events/events.js';
import { TagsChanged } from '../../../src/core/artifacts.js';
import { OciError } from '../../../src/oci/errors.js';
import { runRetention, type RetentionParams, type RetentionRunDeps, type TaskLogItem } from '../../../src/retention/retention-job.js';
import { RetentionPolicySchema } from '../../../src/retention/retention-policy.js';
import type { ManifestFacts } from '../../../src/retention/retention-plan.js';

const NOW = Date.now();
const digest = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
const image = (n: number, tag: string): ManifestFacts => ({ digest: digest(n), mediaType: 'application/vnd.oci.image.manifest.v1+json', tags: [tag], subject: null, children: [], pushedAt: NOW - n * 60_000, createdAt: NOW - n * 60_000, pulledAt: null });

const policy = RetentionPolicySchema.parse({
  rules: [{ template: 'latestPushedK', params: { latestPushedK: 1 }, tag_selectors: [{ decoration: 'matches', pattern: '**' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: '**' }] } }],
  scope: { level: 'project', ref: 1 },
});

function world(opts: { retagged?: string; refuse?: string; stopAfter?: number } = {}) {
  const manifests = [image(1, 'v3'), image(2, 'v2'), image(3, 'v1'), image(4, 'v0')];
  const deleted: Array<{ actor: unknown; digest: string }> = [];
  const tasks: Array<{ log: TaskLogItem[]; status: string }> = [];
  const events: RegistryEvent[] = [];
  const stop = new AbortController();
  const deps: RetentionRunDeps = {
    facts: { repositories: async () => [{ id: 1, name: 'p/app' }], manifests: async () => manifests } as unknown as RetentionRunDeps['facts'],
    store: {
      addTask: async (t: { log: unknown; status: string }) => (tasks.push(t as { log: TaskLogItem[]; status: string }), tasks.length),
      pruneTasks: async () => undefined,
    } as unknown as RetentionRunDeps['store'],
    artifacts: {
      // As the real one: the tags are checked at the delete (a push re-tagged `retagged` meanwhile).
      deleteManifest: async (caller: { actor: unknown }, _repo: string, d: string, options: { onlyIfTags?: readonly string[] } = {}) => {
        const now = d === opts.retagged ? ['latest', 'v1'] : manifests.find((m) => m.digest === d)!.tags;
        if (options.onlyIfTags && [...options.onlyIfTags].sort().join() !== now.join()) throw new TagsChanged(now);
        if (d === opts.refuse) throw new OciError('DENIED', 'tag v0 is immutable');
        deleted.push({ actor: caller.actor, digest: d });
        if (opts.stopAfter !== undefined && deleted.length >= opts.stopAfter) stop.abort();
      },
    },
    immutable: { isImmutable: () => false },
    events: { add: (e) => events.push(e) },
  };
  const run = (params: Partial<RetentionParams> = {}) =>
    runRetention(deps, { id: 9, projectId: 1, policy, createdAt: 0, updatedAt: 0 }, { id: 1, name: 'p' }, {
      runId: 42,
      params: { executionId: 42, dryRun: false, trigger: 'MANUAL', ...params },
      signal: stop.signal,
      progress: () => undefined,
      log: pino({ level: 'silent' }),
    });
  return { run, deleted, tasks, events };
}

test('a run deletes what the plan deletes, as the retention job; a dry run reports the same and deletes nothing', async () => {
  const dry = world();
  const drySummary = await dry.run({ dryRun: true });
  assert.deepEqual(dry.deleted, []);
  const real = world();
  const summary = await real.run();
  assert.deepEqual(real.deleted.map((d) => d.digest), [digest(2), digest(3), digest(4)]);
  assert.deepEqual(real.deleted[0]!.actor, { kind: 'system', name: 'retention' });
  assert.deepEqual({ ...drySummary, dryRun: false }, summary);
  assert.deepEqual(dry.tasks[0]!.log.map((i) => [i.digest, i.action]), real.tasks[0]!.log.map((i) => [i.digest, i.action]));
  const [event] = real.events;
  assert.ok(event?.type === 'retention.completed' && event.deleted === 3 && event.retained === 1 && event.status === 'Succeed' && event.executionId === 42);
});

test('an artifact re-tagged since the plan is kept; a refused delete is reported and the run goes on', async () => {
  const w = world({ retagged: digest(3), refuse: digest(4) });
  const summary = await w.run();
  assert.deepEqual(w.deleted.map((d) => d.digest), [digest(2)]);
  const log = w.tasks[0]!.log;
  assert.match(log.find((i) => i.digest === digest(3))!.reason, /tags changed \(now latest, v1\) since the plan/);
  assert.equal(log.find((i) => i.digest === digest(3))!.action, 'RETAIN');
  assert.match(log.find((i) => i.digest === digest(4))!.error!, /not deleted: tag v0 is immutable/);
  assert.equal(w.tasks[0]!.status, 'Error');
  assert.equal(summary.failed, 1);
});

test('a stop ends the run between two deletes: the rest is reported as not done', async () => {
  const w = world({ stopAfter: 1 });
  await w.run();
  assert.deepEqual(w.deleted.map((d) => d.digest), [digest(2)]);
  const log = w.tasks[0]!.log;
  assert.equal(w.tasks[0]!.status, 'Stopped');
  assert.deepEqual(log.filter((i) => i.error).map((i) => i.digest), [digest(3), digest(4)]);
  const [event] = w.events;
  assert.ok(event?.type === 'retention.completed' && event.status === 'Stopped');
});
