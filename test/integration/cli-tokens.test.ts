// CLI tokens (what `minato login` keeps instead of a password): they sign in as their user with
// Basic credentials, never as anyone else, and stop working when revoked, expired, or when the
// user is deleted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from '../helpers/http.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let reg: TestRegistry;
before(async () => {
  reg = await startTestRegistry({ auth: { credentialCacheSeconds: 0 } });
  await reg.users!.setPassword('gina', 'gina-Passw0rd');
  await reg.users!.setPassword('hank', 'hank-Passw0rd');
});
after(() => reg.close());

const status = async (user: string, secret: string) =>
  (await request(`${reg.url}/v2/`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}` } })).status;

test('a CLI token signs in as its user only, until revoked', async () => {
  const { token, record } = await reg.cliTokens.create('gina', 'test', 30);
  assert.match(token, /^mnt_[A-Za-z0-9_-]{40,}$/);
  assert.equal(await status('gina', token), 200);
  assert.equal(await status('hank', token), 401, "another user's name with gina's token");
  assert.equal(await status('gina', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), 401);
  const listed = await reg.cliTokens.list('gina');
  assert.deepEqual(listed.map((t) => t.id), [record.id]);
  assert.ok(listed[0]!.lastUsedAt !== null, 'its last use is recorded');
  await reg.cliTokens.revoke('gina', { id: record.id });
  assert.equal(await status('gina', token), 401);
  assert.equal(await status('gina', 'gina-Passw0rd'), 200, 'the password is untouched');
});

test('an expired token and the token of a deleted user sign in to nothing', async () => {
  const expired = await reg.cliTokens.create('gina', 'expired', 0);
  assert.equal(await status('gina', expired.token), 401);
  const { token } = await reg.cliTokens.create('hank', 'test', 30);
  assert.equal(await status('hank', token), 200);
  await reg.users!.deleteUser('hank');
  assert.equal(await status('hank', token), 401);
  assert.deepEqual(await reg.cliTokens.list('hank'), [], 'its tokens went with it');
});
