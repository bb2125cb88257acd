// The conformance suite of src/coordination/coordination.ts: what every KeyValueStore and
// Locker must do, run against each implementation by coordination.test.ts. Two instances on the
// same backing store stand for two processes (or replicas); the lock tests that need a real
// second process (one killed with SIGKILL) spawn coordination-child.js.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Coordination, KeyValueStore } from '../../src/coordination/coordination.js';
import type { CoordinationOptions } from '../../src/coordination/open.js';
import { waitFor } from '../helpers/ports.js';

export interface KvUnderTest {
  /** A store on the shared backing store; each call is another instance, as another process would have. */
  open(): Promise<KeyValueStore>;
  cleanup(): Promise<void>;
}

export interface CoordinationUnderTest {
  open(): Promise<Coordination>;
  /** What a child process passes to openCoordination to reach the same backing store. */
  childOptions: CoordinationOptions;
  /** The longest a killed holder may keep a lock. */
  freedWithinMs: number;
  /** Takes lock `name` away from its holder behind its back (a takeover, a dropped connection). */
  breakLease(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'coordination-child.js');

/** The KeyValueStore half, for stores that are only that (the file store). */
export function keyValueSuite(name: string, create: () => Promise<KvUnderTest>): void {
  describe(`KeyValueStore conformance: ${name}`, () => {
    let under: KvUnderTest;
    let kv: KeyValueStore;
    let other: KeyValueStore;
    before(async () => {
      under = await create();
      kv = await under.open();
      other = await under.open();
    });
    after(() => under.cleanup());
    // Each test uses keys of its own, so the tests share one store.
    const ns = () => `t${randomBytes(4).toString('hex')}`;

    test('a missing key has no value and no modification time', async () => {
      const k = `${ns()}/missing`;
      assert.equal(await kv.load(k), undefined);
      assert.equal(await kv.modified(k), undefined);
    });

    test('store then load gives back the same bytes, from another instance too; an empty value is a value', async () => {
      const k = `${ns()}/bytes`;
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await kv.store(k, value);
      assert.deepEqual(await kv.load(k), value);
      assert.deepEqual(await other.load(k), value);
      await kv.store(`${k}-empty`, Buffer.alloc(0));
      assert.deepEqual(await other.load(`${k}-empty`), Buffer.alloc(0));
    });

    test('store replaces the value, and modified changes with every store, even within one millisecond', async () => {
      const k = `${ns()}/replace`;
      const before = Date.now();
      await kv.store(k, Buffer.from('one'));
      const first = await kv.modified(k);
      assert.ok(first !== undefined && first >= before - 2000 && first <= Date.now() + 2000, `modified ${first} is about now`);
      await kv.store(k, Buffer.from('two'));
      const second = await other.modified(k);
      assert.equal((await other.load(k))?.toString(), 'two');
      assert.ok(second! > first!, `modified grew: ${first} -> ${second}`);
    });

    test('storeIfAbsent stores only the first value and leaves it and its time alone afterwards', async () => {
      const k = `${ns()}/once`;
      assert.equal(await kv.storeIfAbsent(k, Buffer.from('first')), true);
      const at = await kv.modified(k);
      assert.equal(await other.storeIfAbsent(k, Buffer.from('second')), false);
      assert.equal((await kv.load(k))?.toString(), 'first');
      assert.equal(await kv.modified(k), at);
    });

    test('of concurrent storeIfAbsent calls from two instances, exactly one wins and its value is kept', async () => {
      const k = `${ns()}/race`;
      const values = Array.from({ length: 8 }, (_, i) => Buffer.from(`value-${i}`));
      const results = await Promise.all(values.map((v, i) => (i % 2 ? kv : other).storeIfAbsent(k, v)));
      assert.equal(results.filter(Boolean).length, 1, `one winner: ${results}`);
      assert.deepEqual(await kv.load(k), values[results.indexOf(true)]);
    });

    test('delete removes the value and its time; deleting again is fine; the key can be stored afresh', async () => {
      const k = `${ns()}/gone`;
      await kv.store(k, Buffer.from('x'));
      await other.delete(k);
      assert.equal(await kv.load(k), undefined);
      assert.equal(await kv.modified(k), undefined);
      await kv.delete(k);
      await kv.delete(`${ns()}/never-stored`);
      assert.equal(await kv.storeIfAbsent(k, Buffer.from('again')), true);
    });

    test('list gives the keys that start with the prefix, in byte order, and nothing else', async () => {
      const n = ns();
      const keys = [`${n}/b/z`, `${n}/a/2`, `${n}/a/10`, `${n}/a/1`, `${n}/B/x`, `${n}/ab`, `${n}x/a/1`];
      for (const k of keys) await kv.store(k, Buffer.from(k));
      assert.deepEqual(await other.list(`${n}/a/`), [`${n}/a/1`, `${n}/a/10`, `${n}/a/2`]);
      assert.deepEqual(await kv.list(`${n}/`), [`${n}/B/x`, `${n}/a/1`, `${n}/a/10`, `${n}/a/2`, `${n}/ab`, `${n}/b/z`]);
      assert.deepEqual(await kv.list(`${n}/a`), [`${n}/a/1`, `${n}/a/10`, `${n}/a/2`, `${n}/ab`], 'a partial last segment matches as a string prefix');
      assert.deepEqual(await kv.list(`${n}/nothing/`), []);
      await kv.delete(`${n}/a/10`);
      assert.deepEqual(await kv.list(`${n}/a/`), [`${n}/a/1`, `${n}/a/2`]);
    });

    test('keys that could leave the store or hide in it are refused, by every method', async () => {
      const bad = ['', '/abs', '../up', 'a/../b', 'a//b', 'a/', '.hidden', 'a/.tmp', 'sp ace', 'back\\slash', 'nul\0', 'é', 'x'.repeat(1100)];
      for (const k of bad) {
        await assert.rejects(kv.load(k), /invalid key/, `load ${JSON.stringify(k)}`);
        await assert.rejects(kv.store(k, Buffer.from('x')), /invalid key/, `store ${JSON.stringify(k)}`);
        await assert.rejects(kv.storeIfAbsent(k, Buffer.from('x')), /invalid key/);
        await assert.rejects(kv.delete(k), /invalid key/);
        await assert.rejects(kv.modified(k), /invalid key/);
      }
      await assert.rejects(kv.list('../'), /invalid key/);
      await assert.rejects(kv.list('a//'), /invalid key/);
    });

    test('a replaced value is read whole: the old or the new one, never a mix', async () => {
      const k = `${ns()}/atomic`;
      const a = Buffer.alloc(256 * 1024, 'a');
      const b = Buffer.alloc(256 * 1024, 'b');
      await kv.store(k, a);
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 30; i++) await kv.store(k, i % 2 ? a : b);
        writing = false;
      })();
      let reads = 0;
      while (writing || reads < 10) {
        const got = await other.load(k);
        assert.ok(got?.equals(a) || got?.equals(b), `read ${reads}: ${got?.length} bytes, not one whole value`);
        reads++;
      }
      await writer;
    });
  });
}

/** Both halves, for a Coordination. */
export function coordinationSuite(name: string, create: () => Promise<CoordinationUnderTest>): void {
  let under: CoordinationUnderTest | undefined;
  const opened: Coordination[] = [];
  const instance = async () => {
    under ??= await create();
    const c = await under.open();
    opened.push(c);
    return c;
  };
  keyValueSuite(name, async () => ({ open: async () => (await instance()).kv, cleanup: async () => undefined }));

  describe(`Locker conformance: ${name}`, () => {
    let a: Coordination;
    let b: Coordination;
    before(async () => {
      a = await instance();
      b = await instance();
    });
    after(async () => {
      for (const c of opened) await c.close();
      await under?.cleanup();
    });
    const lockName = () => `test/lock-${randomBytes(4).toString('hex')}`;

    test('a lock excludes: concurrent waiters in two instances hold it one at a time, and every one gets it', async () => {
      const n = lockName();
      let inside = 0;
      let most = 0;
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const lease = await (i % 2 ? a : b).locker.lock(n);
          assert.equal(lease.name, n);
          inside++;
          most = Math.max(most, inside);
          await sleep(20);
          inside--;
          order.push(i);
          await lease.release();
        }),
      );
      assert.equal(most, 1, 'never two holders at once');
      assert.equal(order.length, 6);
    });

    test('tryLock takes a free lock and gives undefined for a held one, in this instance or another', async () => {
      const n = lockName();
      const held = await a.locker.tryLock(n);
      assert.ok(held, 'a free lock is taken');
      assert.equal(await b.locker.tryLock(n), undefined, 'held by another instance');
      assert.equal(await a.locker.tryLock(n), undefined, 'held by this instance: still exclusive');
      const other = await b.locker.tryLock(lockName());
      assert.ok(other, 'another name is independent');
      await other.release();
      await held.release();
      const again = await b.locker.tryLock(n);
      assert.ok(again, 'free again after release');
      await again.release();
    });

    test('release is idempotent, and a released lock is free at once', async () => {
      const n = lockName();
      const lease = await a.locker.lock(n);
      await lease.release();
      await lease.release();
      const started = Date.now();
      const next = await b.locker.lock(n);
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      assert.equal(lease.signal.aborted, false, 'a release is not a loss');
      await next.release();
    });

    test('a waiter whose signal aborts stops waiting with its reason, and takes nothing', async () => {
      const n = lockName();
      const held = await a.locker.lock(n);
      const controller = new AbortController();
      const reason = new Error('the caller gave up');
      const waiting = b.locker.lock(n, controller.signal);
      setTimeout(() => controller.abort(reason), 150);
      await assert.rejects(waiting, (err) => err === reason);
      await assert.rejects(b.locker.lock(n, AbortSignal.abort(reason)), (err) => err === reason, 'an aborted signal fails at once');
      await held.release();
      const after = await waitFor(() => b.locker.tryLock(n), 2000, 'the lock to be free');
      await after.release();
    });

    test('Lease.signal aborts when the lock is lost behind the holder, and others can take it', async () => {
      const n = lockName();
      const lease = await a.locker.lock(n);
      await under!.breakLease(n);
      await waitFor(() => lease.signal.aborted, under!.freedWithinMs + 5000, 'the lease to report the loss');
      assert.match(String((lease.signal.reason as Error).message), new RegExp(n));
      const other = await waitFor(() => b.locker.tryLock(n), under!.freedWithinMs + 5000, 'the lock to be free');
      await other.release();
      await lease.release();
    });

    test('closing an instance releases the locks it holds', async () => {
      const c = await instance();
      const n = lockName();
      await c.locker.lock(n);
      await c.close();
      const next = await waitFor(() => a.locker.tryLock(n), 2000, 'the lock to be free');
      await next.release();
    });

    test('a lock held by a process killed with SIGKILL comes free within the lease time', async () => {
      const n = lockName();
      const child = spawn(process.execPath, [CHILD, JSON.stringify(under!.childOptions), n], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await waitFor(() => out.includes('locked'), 15_000, `the child to take the lock (${out})`);
        assert.equal(await a.locker.tryLock(n), undefined, 'the child holds it');
        const waiting = b.locker.lock(n);
        child.kill('SIGKILL');
        await exited;
        const killedAt = Date.now();
        const lease = await waiting;
        const took = Date.now() - killedAt;
        assert.ok(took <= under!.freedWithinMs + 1500, `freed ${took} ms after the kill (at most ${under!.freedWithinMs} ms expected)`);
        await lease.release();
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });
}
