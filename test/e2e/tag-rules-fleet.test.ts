// Tag rules across replicas: two registries on one PostgreSQL database (each with its own
// storage, which is enough here: every push goes whole to one replica). An immutability rule made
// on one replica is enforced by the other within the event poll interval, and lifted there when
// deleted; a retention schedule set on one replica runs on the other once the first is gone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';

let pg: RunningPostgres;
let a: TestRegistry;
let b: TestRegistry;
let apiA: ApiClient;
let apiB: ApiClient;
let aClosed = false;

before(async () => {
  pg = await startPostgres();
  const database = { driver: 'postgres', url: await pg.createDatabase() };
  a = await startTestRegistry({ database });
  b = await startTestRegistry({ database });
  // Both replicas know the same admin (users live in the shared database; b's start reset the password).
  a.password = b.password;
  a.basic = b.basic;
  apiA = await apiClient(a.url, { headers: { Authorization: a.basic } });
  apiB = await apiClient(b.url, { headers: { Authorization: b.basic } });
  await a.projects.create({ name: 'shared' }, { user: null }, SYSTEM_ACTOR);
});
after(async () => {
  await Promise.allSettled([aClosed ? undefined : a?.close(), b?.close()]);
  await pg?.stop();
});

test('an immutability rule made on one replica is enforced by the other, and lifted there', async () => {
  await pushImage(b.url, b.basic, 'shared/app', 'v1', 'one');
  const created = await apiA('POST', '/api/v2.0/projects/shared/immutabletagrules', {
    json: { tag_selectors: [{ decoration: 'matches', pattern: 'v*' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: '**' }] } },
  });
  assert.equal(created.status, 201, created.text);
  // Each try pushes new content: a try that lands before b has the rule moves v1 to it, and a
  // re-push of the digest a tag already names is allowed, so the same content would pass forever.
  let attempt = 0;
  await waitFor(async () => pushImage(b.url, b.basic, 'shared/app', 'v1', `two-${attempt++}`).then(() => false, (err: Error) => /immutable/.test(err.message)), 10_000, 'replica b to refuse the move');
  const id = String(created.headers.location).split('/').pop();
  assert.equal((await apiA('DELETE', `/api/v2.0/projects/shared/immutabletagrules/${id}`)).status, 200);
  await waitFor(async () => pushImage(b.url, b.basic, 'shared/app', 'v1', 'three').then(() => true, () => false), 10_000, 'replica b to lift the rule');
});

test('a retention schedule set on one replica runs on the other', async () => {
  for (const tag of ['r1', 'r2', 'r3']) await pushImage(b.url, b.basic, 'shared/keep', tag);
  const projectId = (await apiA('GET', '/api/v2.0/projects/shared')).json().project_id as number;
  const created = await apiA('POST', '/api/v2.0/retentions', {
    json: {
      algorithm: 'or',
      rules: [{ template: 'latestPushedK', params: { latestPushedK: 1 }, tag_selectors: [{ decoration: 'matches', pattern: 'r*', extras: '{"untagged":false}' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: 'keep' }] } }],
      trigger: { kind: 'Schedule', settings: { cron: '*/2 * * * * *' } },
      scope: { level: 'project', ref: projectId },
    },
  });
  assert.equal(created.status, 201, created.text);
  const id = String(created.headers.location).split('/').pop();
  aClosed = true;
  await a.close(); // only b is left to run it
  const run = await waitFor(async () => {
    const list = (await apiB('GET', `/api/v2.0/retentions/${id}/executions`)).json() as Array<{ trigger: string; status: string; deleted?: number }>;
    return list.find((e) => e.trigger === 'SCHEDULE' && e.status === 'Succeed' && e.deleted === 2);
  }, 20_000, 'replica b to run the schedule');
  assert.equal(run.deleted, 2);
  const left = (await apiB('GET', `/api/v2.0/projects/shared/repositories/keep/artifacts`)).json() as Array<{ tags: Array<{ name: string }> }>;
  assert.deepEqual(left.flatMap((x) => x.tags.map((t) => t.name)), ['r3']);
});
