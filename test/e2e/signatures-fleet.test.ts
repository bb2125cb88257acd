// Signatures across replicas: two registries on one PostgreSQL database, each with its own blob
// directory (the signature's blobs are uploaded to both, its manifest pushed through one). A trust policy set on one
// replica is enforced by the other within the event poll interval (trust-policy.changed); a
// signature pushed through one replica makes the other serve the image it had refused and cached
// as unsigned (manifest.pushed / tag.updated through the outbox); a key removed on one replica
// makes the other refuse again (a new policy version).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_ACTOR } from '../../src/events/events.js';
import { request } from '../helpers/http.js';
import { pushImage } from '../helpers/oci.js';
import { apiClient, type ApiClient } from '../helpers/openapi.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { cosignPayload, makeKey, pushCosignSignature, putBlob, signWith } from '../helpers/signatures.js';

let pg: RunningPostgres;
let a: TestRegistry;
let b: TestRegistry;
let apiA: ApiClient;

before(async () => {
  pg = await startPostgres();
  const database = { driver: 'postgres', url: await pg.createDatabase() };
  a = await startTestRegistry({ database });
  b = await startTestRegistry({ database });
  a.password = b.password;
  a.basic = b.basic;
  apiA = await apiClient(a.url, { headers: { Authorization: a.basic } });
  await a.projects.create({ name: 'shared' }, { user: null }, SYSTEM_ACTOR);
});
after(async () => {
  await Promise.allSettled([a?.close(), b?.close()]);
  await pg?.stop();
});

test('a policy, a signature and a key removal made through one replica reach the other', async () => {
  const key = makeKey();
  const image = await pushImage(b.url, b.basic, 'shared/app', 'v1', 'one');
  const pullB = () => request(`${b.url}/v2/shared/app/manifests/v1`, { headers: { Authorization: b.basic } }).then((r) => r.status);
  assert.equal(await pullB(), 200);
  const put = await apiA('PUT', '/api/v2.0/projects/shared/trust', { json: { level: 'enforce', public_keys: [{ name: 'ci', pem: key.pem }] } });
  assert.equal(put.status, 200, put.text);
  await waitFor(async () => (await pullB()) === 403, 10_000, 'replica b to enforce the policy set on a');
  assert.equal(await pullB(), 403, 'cached on b as unsigned');
  const payload = cosignPayload('shared/app', image.digest);
  for (const blob of [Buffer.from('{}'), payload]) await putBlob(b.url, b.basic, 'shared/app', blob);
  await pushCosignSignature(a.url, a.basic, 'shared/app', image, [{ payload, signature: signWith(key, payload) }]);
  await waitFor(async () => (await pullB()) === 200, 10_000, 'replica b to see the signature pushed through a');
  assert.equal((await apiA('DELETE', '/api/v2.0/projects/shared/trust/keys/ci')).status, 200);
  await waitFor(async () => (await pullB()) === 403, 10_000, 'replica b to refuse once the key is gone');
});
