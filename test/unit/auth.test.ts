import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator.js';
import { basicCredential, CredentialCache } from '../../src/auth/credential-cache.js';
import { parseHtpasswd } from '../../src/auth/htpasswd-file.js';
import { hashPassword, verifyPassword } from '../../src/auth/password-hash.js';
import type { IdentityProvider } from '../../src/auth/identity.js';
import type { AccessControl } from '../../src/auth/access-control.js';
import { ANONYMOUS, RegistryPolicy } from '../../src/auth/policy.js';
import { publicGrants, roleGrants } from '../../src/auth/rbac.js';

/** Projects "team" (alice: developer, bob: guest) and the public "library"; admin is a system admin. */
const access: AccessControl = {
  can(p, project, resource, action) {
    if (project !== 'team' && project !== 'library') return false;
    if (p.user === 'admin') return true;
    const role = project === 'team' ? ({ alice: 2, bob: 3 } as Record<string, 2 | 3>)[p.user ?? ''] : undefined;
    if (role && roleGrants(role, resource, action)) return true;
    return project === 'library' && publicGrants(resource, action);
  },
  canSystem: (p) => p.user === 'admin',
  isSysAdmin: (p) => p.user === 'admin',
  projectId: (project) => (project === 'team' ? 2 : project === 'library' ? 1 : undefined),
};

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
  const good = basicCredential('u', 'p');
  cache.add(good, 'u');
  assert.equal(cache.userFor(good), 'u');
  assert.equal(cache.userFor(basicCredential('u', 'other')), undefined);
  const keys = JSON.stringify([...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()]);
  assert.ok(!keys.includes(good) && !keys.includes('p"'));
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(cache.userFor(good), undefined);
  cache.add(good, 'u');
  cache.clear();
  assert.equal(cache.userFor(good), undefined);
  const off = new CredentialCache(0);
  off.add(good, 'u');
  assert.equal(off.userFor(good), undefined);
});

test("a connection's remembered credential counts only for that header, until it expires or users change", async () => {
  const cache = new CredentialCache(50);
  const good = basicCredential('u', 'p');
  const connection = {};
  cache.add(good, 'u');
  assert.equal(cache.userFor(good, connection), 'u');
  assert.equal(cache.userFor(good, connection), 'u', 'the repeated header is answered from the connection');
  assert.equal(cache.userFor(basicCredential('u', 'other'), connection), undefined, 'another header on the same connection is not');
  cache.clear();
  assert.equal(cache.userFor(good, connection), undefined, 'a user change forgets what connections remembered');
  cache.add(good, 'u');
  assert.equal(cache.userFor(good, connection), 'u');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(cache.userFor(good, connection), undefined, 'and so does the end of the cache lifetime');
});

test('Basic auth: a verified password is cached, a wrong one never is, and a user change clears it', async () => {
  const passwords = new Map([['alice', 'right']]);
  let verifications = 0;
  const listeners: Array<() => void> = [];
  const identity: IdentityProvider = {
    async verify(user: string, password: string) {
      verifications++;
      return passwords.get(user) === password;
    },
    onChange: (fn) => void listeners.push(fn),
    close() {},
  };
  const auth = new Authenticator(identity, new CredentialCache(60_000), undefined, new RegistryPolicy(access, { anonymousPull: false, autoCreate: false }), false);
  const need = { type: 'repository', name: 'team/r', action: 'push' };
  const basic = (u: string, p: string) => `Basic ${basicCredential(u, p)}`;

  assert.equal(auth.decideCached(basic('alice', 'right'), need), undefined, 'nothing cached yet');
  assert.deepEqual(await auth.decide(basic('alice', 'right'), need, '127.0.0.1'), { ok: true, principal: { user: 'alice' } });
  assert.deepEqual(auth.decideCached(basic('alice', 'right'), need), { ok: true, principal: { user: 'alice' } });
  assert.deepEqual(await auth.passwordLogin('alice', 'right', '127.0.0.1'), { user: 'alice' });
  assert.equal(verifications, 1, 'one bcrypt for three checks');

  for (let i = 0; i < 2; i++) assert.equal((await auth.decide(basic('alice', 'wrong'), need, '127.0.0.1')).ok, false);
  assert.equal(verifications, 3, 'wrong passwords are verified every time');
  assert.deepEqual(await auth.passwordLogin('alice:right', '', '127.0.0.1'), { refused: 'credentials' }, 'a colon in a user name is refused');
  assert.equal(auth.decideCached(undefined, need)?.ok, false, 'anonymous push is refused at once');

  passwords.set('alice', 'new');
  listeners.forEach((fn) => fn());
  assert.equal(auth.decideCached(basic('alice', 'right'), need), undefined);
  assert.equal((await auth.decide(basic('alice', 'right'), need, '127.0.0.1')).ok, false, 'the old password no longer works');
});

test('policy: repository actions follow the role in the project; anonymous gets public pull only when allowed, never push', () => {
  const policy = (anonymousPull: boolean) => new RegistryPolicy(access, { anonymousPull, autoCreate: false });
  const [alice, bob] = [{ user: 'alice' }, { user: 'bob' }];
  assert.deepEqual(policy(false).allowedActions(alice, 'repository', 'team/x', ['pull', 'push', 'delete']), ['pull', 'push'], 'a developer may not delete');
  assert.deepEqual(policy(false).allowedActions(bob, 'repository', 'team/x', ['pull', 'push']), ['pull'], 'a guest only pulls');
  assert.deepEqual(policy(false).allowedActions(alice, 'repository', 'other/x', ['pull', 'push']), [], 'no project, nothing');
  assert.deepEqual(policy(false).allowedActions(bob, 'repository', 'library/x', ['pull', 'push']), ['pull'], 'anyone signed in pulls from a public project');
  assert.deepEqual(policy(false).allowedActions(ANONYMOUS, 'repository', 'library/x', ['pull', 'push']), []);
  assert.deepEqual(policy(true).allowedActions(ANONYMOUS, 'repository', 'library/x', ['pull', 'push', 'delete', '*']), ['pull']);
  assert.deepEqual(policy(true).allowedActions(ANONYMOUS, 'repository', 'team/x', ['pull']), [], 'a private project stays closed');
  assert.deepEqual(policy(true).allowedActions({ user: 'admin' }, 'repository', 'team/x', ['*']), ['pull', 'push', 'delete', '*']);
  assert.deepEqual(policy(false).allowedActions(alice, 'registry', 'catalog', ['*']), ['*'], 'the catalog is open and filtered');
  assert.match(policy(false).explain(alice, 'repository', 'other/x', 'push'), /project "other" does not exist.*minato project create other/);
  assert.match(policy(false).explain({ user: 'carol' }, 'repository', 'team/x', 'push'), /not a member of project team/);
});
