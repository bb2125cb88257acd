// The job scheduler: one run at a time across processes sharing a coordination store, history in
// the shared store, stop, and scheduled runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { SqliteCoordination } from '../../../src/coordination/sqlite.js';
import { JobBusyError, Scheduler, UnknownJobError } from '../../../src/jobs/scheduler.js';

const log = pino({ level: 'silent' });

async function withCoordination(fn: (open: () => SqliteCoordination) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'minato-jobs-'));
  const opened: SqliteCoordination[] = [];
  try {
    await fn(() => {
      const c = new SqliteCoordination({ file: path.join(dir, 'coordination.db'), leaseMs: 2000 });
      opened.push(c);
      return c;
    });
  } finally {
    for (const c of opened) await c.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a run is refused while another scheduler sharing the store runs the same job; both see its history', async () => {
  await withCoordination(async (open) => {
    const a = open();
    const b = open();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = (calls: string[], who: string) => ({
      name: 'gc',
      scheduledParams: () => ({ dryRun: false }),
      run: async ({ params, progress }: { params: { dryRun: boolean }; progress: (p: { done: number }) => void }) => {
        calls.push(who);
        progress({ done: 1 });
        await gate;
        return { freed: params.dryRun ? 0 : 42 };
      },
    });
    const calls: string[] = [];
    const one = new Scheduler({ locker: a.locker, kv: a.kv, log });
    const two = new Scheduler({ locker: b.locker, kv: b.kv, log });
    one.register(job(calls, 'one'));
    two.register(job(calls, 'two'));
    const { run, finished } = await one.start('gc', { dryRun: false });
    assert.equal(run.status, 'running');
    await assert.rejects(one.start('gc'), JobBusyError);
    await assert.rejects(two.start('gc'), JobBusyError);
    assert.equal(one.current('gc')?.progress?.done, 1);
    assert.equal((await two.history('gc'))[0]?.status, 'running', 'the other replica sees the run going on');
    release();
    const ended = await finished;
    assert.equal(ended.status, 'succeeded');
    assert.deepEqual(ended.result, { freed: 42 });
    const seen = await two.history('gc');
    assert.equal(seen[0]?.id, run.id);
    assert.equal(seen[0]?.status, 'succeeded');
    assert.deepEqual(calls, ['one']);
    // Free again: the other replica may run it now.
    const again = await two.start('gc', { dryRun: true });
    assert.deepEqual((await again.finished).result, { freed: 0 });
    await one.close();
    await two.close();
  });
});

test('stop aborts the run, which is recorded as stopped; a failing run is recorded with its error', async () => {
  await withCoordination(async (open) => {
    const c = open();
    const s = new Scheduler({ locker: c.locker, kv: c.kv, log });
    s.register({
      name: 'scrub',
      scheduledParams: () => ({}),
      run: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    });
    s.register({ name: 'broken', scheduledParams: () => ({}), run: async () => { throw new Error('disk on fire'); } });
    const { run, finished } = await s.start('scrub');
    assert.equal(await s.stop('scrub', run.id + 1), false, 'no such run');
    assert.equal(await s.stop('scrub', run.id), true);
    assert.equal((await finished).status, 'stopped');
    assert.equal(await s.stop('scrub', run.id), false, 'it has ended');
    const failed = await (await s.start('broken')).finished;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'disk on fire');
    assert.equal((await s.history('broken'))[0]?.error, 'disk on fire');
    await assert.rejects(s.stop('nope', 1), UnknownJobError);
    await s.close();
  });
});

test('a stop asked of another replica reaches the run through the shared store', async () => {
  await withCoordination(async (open) => {
    const [one, two] = [open(), open()].map((c) => new Scheduler({ locker: c.locker, kv: c.kv, log }));
    for (const s of [one!, two!]) {
      s.register({
        name: 'gc',
        scheduledParams: () => ({}),
        run: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
      });
    }
    // The scheduler's timers do not hold the process open (a server's sockets do): this test's does.
    const alive = setInterval(() => undefined, 1000);
    const { run, finished } = await one!.start('gc');
    const asked = Date.now();
    assert.equal(await two!.stop('gc', run.id), true);
    const ended = await finished;
    assert.equal(ended.status, 'stopped');
    assert.match(ended.error ?? '', /through another replica/);
    assert.ok(Date.now() - asked < 5_000, 'within a flush or two');
    // The request is gone with the run: the next run is not stopped by it.
    const next = await two!.start('gc');
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(two!.current('gc')?.id, next.run.id);
    assert.equal(await two!.stop('gc', next.run.id), true);
    await next.finished;
    clearInterval(alive);
    await one!.close();
    await two!.close();
  });
});

test('a scheduled job runs at its cron time; a bad expression is refused', async () => {
  await withCoordination(async (open) => {
    const c = open();
    const s = new Scheduler({ locker: c.locker, kv: c.kv, log });
    let ran = 0;
    s.register({ name: 'tick', scheduledParams: () => ({}), run: async () => ({ n: ++ran }) });
    assert.throws(() => s.schedule('tick', 'every tuesday'));
    s.schedule('tick', '* * * * * *');
    assert.ok(s.nextRun('tick'));
    const deadline = Date.now() + 3000;
    while (ran === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ran >= 1, 'the job ran within a second or two');
    s.schedule('tick', undefined);
    assert.equal(s.nextRun('tick'), undefined);
    await s.close();
  });
});
