// Users changed with the CLI while the server runs: the server hears of it through the outbox
// (a user.changed event) and drops the logins it cached, so a deleted user or an old password is
// refused within a second, not after auth.credentialCacheSeconds.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { request } from '../helpers/http.js';
import { run, waitFor } from '../helpers/peers.js';
import { CLI, spawnServe, tempDir, type ServeProcess } from '../helpers/registry.js';
import { openSqlite } from '../../src/metadata/db.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('a user deleted or given a new password with the CLI is refused by the running server at once', { timeout: 60_000 }, async () => {
  const tmp = await tempDir('minato-e2e-users-');
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const data = path.join(tmp, 'data');
  const cli = (args: string[], input?: string) => run(process.execPath, [CLI, 'user', ...args, '--data', data], { input });
  assert.equal((await cli(['add', 'admin', '--password-stdin'], 'admin-pw\n')).code, 0);
  assert.equal((await cli(['add', 'bob', '--password-stdin'], 'bob-pw-1\n')).code, 0);
  // A user has its stable principal id from its creation on, and keeps it when its password changes.
  const principalId = async () => {
    const db = await openSqlite(path.join(data, 'minato.db'));
    try {
      return (await db.selectFrom('principals').select('id').where('kind', '=', 'user').where('name', '=', 'bob').executeTakeFirst())?.id;
    } finally {
      await db.destroy();
    }
  };
  const bobId = await principalId();
  assert.equal(typeof bobId, 'number');
  // A long credential cache: only the event can explain a quick refusal.
  const server: ServeProcess = await spawnServe(['--data', data], { MINATO_AUTH_CREDENTIAL_CACHE_SECONDS: '300' });
  cleanups.push(() => server.stop());
  const v2 = (auth: string) => request(`${server.url}/v2/`, { headers: { Authorization: auth } });
  assert.equal((await v2(basic('bob', 'bob-pw-1'))).status, 200);

  assert.equal((await cli(['add', 'bob', '--password-stdin'], 'bob-pw-2\n')).code, 0);
  const started = Date.now();
  await waitFor(async () => (await v2(basic('bob', 'bob-pw-1'))).status === 401, 3000, 'the old password to be refused');
  assert.ok(Date.now() - started < 3000);
  assert.equal((await v2(basic('bob', 'bob-pw-2'))).status, 200);
  assert.equal(await principalId(), bobId);

  assert.equal((await cli(['delete', 'bob'])).code, 0);
  await waitFor(async () => (await v2(basic('bob', 'bob-pw-2'))).status === 401, 3000, 'the deleted user to be refused');
  assert.equal((await v2(basic('admin', 'admin-pw'))).status, 200, 'others are not affected');
});
