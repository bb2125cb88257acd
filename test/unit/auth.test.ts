import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import { parseHtpasswd } from '../../src/auth/htpasswd-file.js';
import { hashPassword, verifyPassword } from '../../src/auth/password-hash.js';
import { allowedActions, ANONYMOUS } from '../../src/auth/policy.js';

test('htpasswd parsing keeps good entries and explains bad ones', () => {
  const { users, problems } = parseHtpasswd('# c\r\nalice:$2y$05$abcdefghijklmnopqrstuv\r\n\nbob\ncarol:plain\ndave:{SHA}x=\n');
  assert.deepEqual([...users.keys()], ['alice', 'dave']);
  assert.equal(problems.length, 2);
  assert.match(problems.join('\n'), /line 4: expected "user:hash"/);
  assert.match(problems.join('\n'), /carol.*unsupported hash/);
});

test('passwords are stored as bcrypt and verified', async () => {
  const hash = await hashPassword('s3cret');
  assert.match(hash, /^\$2[aby]\$10\$/);
  assert.equal(await verifyPassword('s3cret', hash), true);
  assert.equal(await verifyPassword('wrong', hash), false);
});

test('the credential cache remembers successes briefly and never the password', async () => {
  const cache = new CredentialCache(50);
  cache.add('u', 'p');
  assert.equal(cache.has('u', 'p'), true);
  assert.equal(cache.has('u', 'other'), false);
  assert.ok(!JSON.stringify([...(cache as unknown as { entries: Map<string, number> }).entries.keys()]).includes('p"'));
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(cache.has('u', 'p'), false);
  cache.add('u', 'p');
  cache.clear();
  assert.equal(cache.has('u', 'p'), false);
  assert.equal(new CredentialCache(0).has('u', 'p'), false);
});

test('policy: users get pull/push/delete, anonymous at most pull, never push', () => {
  const user = { user: 'alice' };
  assert.deepEqual(allowedActions(user, 'repository', 'x', ['pull', 'push'], { anonymousPull: false }), ['pull', 'push']);
  assert.deepEqual(allowedActions(ANONYMOUS, 'repository', 'x', ['pull', 'push'], { anonymousPull: false }), []);
  assert.deepEqual(allowedActions(ANONYMOUS, 'repository', 'x', ['pull', 'push', 'delete', '*'], { anonymousPull: true }), ['pull']);
  assert.deepEqual(allowedActions(ANONYMOUS, 'registry', 'catalog', ['*'], { anonymousPull: true }), []);
  assert.deepEqual(allowedActions(user, 'registry', 'catalog', ['*'], { anonymousPull: false }), ['*']);
});
