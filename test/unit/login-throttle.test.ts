// The login throttle's counting rules, on a clock the test controls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, LoginThrottle, type ThrottledEvent } from '../../src/auth/login-throttle.js';

test('a pair over its limit is refused for a window, warned about once; other addresses and users go on', () => {
  const events: ThrottledEvent[] = [];
  const t = new LoginThrottle({ userFailures: 3, addressFailures: 100, windowMs: 10_000, onThrottled: (e) => events.push(e) });
  assert.deepEqual([0, 1, 2, 3, 4].map(() => t.attempt('10.0.0.1', 'alice', 1000)), [0, 0, 0, 10, 10]);
  assert.equal(events.length, 1, 'one warning per refused key, not per request');
  assert.deepEqual(events[0], { scope: 'user', address: '10.0.0.1', user: 'alice', failures: 3, retryAfterSeconds: 10 });
  assert.equal(t.attempt('10.0.0.2', 'alice', 1000), 0, 'the same user from elsewhere');
  assert.equal(t.attempt('10.0.0.1', 'bob', 1000), 0, 'another user from the same address');
  assert.equal(t.attempt('10.0.0.1', 'alice', 8000), 3, 'Retry-After counts down');
  assert.equal(t.attempt('10.0.0.1', 'alice', 11_001), 0, 'lifted after the window');
});

test('attempts count until they succeed, so parallel guesses are counted too; success starts the pair over', () => {
  const t = new LoginThrottle({ userFailures: 2, addressFailures: 100, windowMs: 1000 });
  assert.equal(t.attempt('10.0.0.1', 'alice', 0), 0);
  assert.equal(t.attempt('10.0.0.1', 'alice', 0), 0);
  assert.ok(t.attempt('10.0.0.1', 'alice', 0) > 0, 'two in flight already reach the limit');
  t.succeeded('10.0.0.1', 'alice');
  assert.equal(t.attempt('10.0.0.1', 'alice', 0), 0);
});

test('an address over its limit is refused for every user; a success does not reset it; clear() lifts all', () => {
  const t = new LoginThrottle({ userFailures: 5, addressFailures: 4, windowMs: 1000 });
  for (let i = 0; i < 4; i++) assert.equal(t.attempt('10.0.0.9', `u${i}`, 0), 0);
  t.succeeded('10.0.0.9', 'u3');
  assert.ok(t.attempt('10.0.0.9', 'someone', 0) > 0);
  assert.ok(t.attempt('10.0.0.9', undefined, 0) > 0, 'a malformed credential too');
  t.clear();
  assert.equal(t.attempt('10.0.0.9', 'someone', 0), 0);
});

test('IPv6 clients are counted by /64; memory is bounded; 0 turns it off', () => {
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2::ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  const t = new LoginThrottle({ userFailures: 1, addressFailures: 0, windowMs: 1000 });
  t.attempt('2001:db8:1:2::1', 'alice', 0);
  assert.ok(t.attempt('2001:db8:1:2::7', 'alice', 0) > 0, 'another address of the same /64');
  const bounded = new LoginThrottle({ userFailures: 1, addressFailures: 0, windowMs: 1000, maxKeys: 10 });
  for (let i = 0; i < 1000; i++) bounded.attempt(`10.1.${i >> 8}.${i & 255}`, 'u', 0);
  assert.equal((bounded as unknown as { entries: Map<string, unknown> }).entries.size, 10);
  const off = new LoginThrottle({ userFailures: 0, addressFailures: 0, windowMs: 1000 });
  for (let i = 0; i < 100; i++) assert.equal(off.attempt('10.0.0.1', 'alice', 0), 0);
});
