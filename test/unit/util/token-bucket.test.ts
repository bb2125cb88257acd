// The scrub's pace: N units taken from a bucket of rate R take at least N / R seconds however they
// are split (the bucket starts empty and only time fills it), no limit never waits, a stop ends a wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from '../../../src/util/token-bucket.js';

test('N units at rate R take at least N / R seconds, whatever the chunk sizes', async () => {
  const bucket = new TokenBucket(4_000_000);
  const t0 = Date.now();
  for (const n of [1_000_000, 64 * 1024, 3_000_000, 10, 935_526]) await bucket.take(n);
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds >= 5_000_000 / 4_000_000 - 0.01, `took ${seconds} s`);
  assert.ok(seconds < 2.5, `took ${seconds} s: not much more than the rate asks`);
});

test('time spent elsewhere fills the bucket up to one second of units, no more', async () => {
  const bucket = new TokenBucket(1_000_000);
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  await bucket.take(1_000_000);
  assert.ok(Date.now() - t0 < 50, 'a full bucket gives one second of units at once');
  await bucket.take(500_000);
  assert.ok(Date.now() - t0 >= 450, 'beyond the burst, the rate holds');
});

test('rate 0 is no limit; an abort ends a wait with its reason', async () => {
  const free = new TokenBucket(0);
  assert.equal(free.limited, false);
  const t0 = Date.now();
  await free.take(1e12);
  assert.ok(Date.now() - t0 < 20);
  const slow = new TokenBucket(1000);
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('stopped on request')), 50);
  await assert.rejects(slow.take(1_000_000, stop.signal), /stopped on request/);
});
