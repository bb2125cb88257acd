// Events: every change is written to the outbox with the change and delivered, in order, to the
// JSON-lines event log (events.log); pulls and logins are batched; refused or failed requests
// leave no event; actors carry their principal's stable id.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { client, request } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry } from '../helpers/registry.js';

type Logged = { id: number; type: string; repository?: string; digest?: string; tag?: string; count?: number; actor: { kind: string; id?: number; name?: string }; ok?: boolean };

async function readLog(file: string): Promise<Logged[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Logged);
}

describe('events', () => {
  test('pushes, pulls, tag moves and deletes reach the event log in order, with the actor id', async () => {
    const reg = await startTestRegistry({ events: { log: 'events.jsonl' } });
    const file = path.join(reg.dataDir, 'events.jsonl');
    try {
      const api = client(reg.url, reg.basic);
      const layer = randomBytes(3000);
      const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
      for (const blob of [layer, config]) {
        const res = await api(`/v2/ev/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
        assert.equal(res.status, 201, res.text);
      }
      const v1 = imageManifest(config, [layer]);
      const v2 = imageManifest(config, [layer], { annotations: { v: '2' } });
      const mediaType = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };
      assert.equal((await api('/v2/ev/app/manifests/latest', { method: 'PUT', body: v1, headers: mediaType })).status, 201);
      assert.equal((await api('/v2/ev/app/manifests/latest')).status, 200);
      assert.equal((await api('/v2/ev/app/manifests/latest')).status, 200);
      assert.equal((await api('/v2/ev/app/manifests/latest', { method: 'HEAD' })).status, 200);
      assert.equal((await api('/v2/ev/app/manifests/latest', { method: 'PUT', body: v2, headers: mediaType })).status, 201);
      assert.equal((await api('/v2/ev/app/manifests/latest', { method: 'DELETE' })).status, 202);
      assert.equal((await api(`/v2/ev/app/manifests/${sha256(v1)}`, { method: 'DELETE' })).status, 202);
      // Refused and failed requests change nothing and leave no event.
      const missing = imageManifest(config, [randomBytes(10)]);
      assert.equal((await api('/v2/ev/app/manifests/broken', { method: 'PUT', body: missing, headers: mediaType })).status, 400);
      assert.equal((await request(`${reg.url}/v2/ev/app/blobs/uploads/`, { method: 'POST' })).status, 401);
      const wrong = `Basic ${Buffer.from('admin:not-the-password').toString('base64')}`;
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: wrong } })).status, 401);

      const events = await waitFor(async () => {
        const logged = await readLog(file);
        return logged.some((e) => e.type === 'auth.login' && e.ok === false) && logged.some((e) => e.type === 'artifact.pulled') ? logged : undefined;
      }, 10_000, 'the events in the log');
      const changes = events.filter((e) => e.repository === 'ev/app' && e.type !== 'artifact.pulled').map((e) => `${e.type} ${e.tag ?? ''} ${e.digest}`);
      assert.deepEqual(changes, [
        `blob.pushed  ${sha256(layer)}`,
        `blob.pushed  ${sha256(config)}`,
        `manifest.pushed latest ${sha256(v1)}`,
        `tag.updated latest ${sha256(v1)}`,
        `manifest.pushed latest ${sha256(v2)}`,
        `tag.updated latest ${sha256(v2)}`,
        `tag.deleted latest ${sha256(v2)}`,
        `manifest.deleted  ${sha256(v1)}`,
      ]);
      const ids = events.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in outbox order');
      // Two GETs of one tag by one user: one event counting both; the HEAD is no pull.
      const pulls = events.filter((e) => e.type === 'artifact.pulled');
      assert.deepEqual(pulls.map((e) => [e.tag, e.digest, e.count]), [['latest', sha256(v1), 2]]);
      // Every event the admin caused carries the same stable numeric id.
      const adminIds = new Set(events.filter((e) => e.actor.name === 'admin').map((e) => e.actor.id));
      assert.equal(adminIds.size, 1);
      assert.equal(typeof [...adminIds][0], 'number');
      const logins = events.filter((e) => e.type === 'auth.login');
      assert.ok(logins.some((e) => e.ok === true && e.actor.name === 'admin'));
      assert.ok(logins.some((e) => e.ok === false && e.actor.kind === 'anonymous'));
    } finally {
      await reg.close();
    }
  });

  test('a mount the caller may not pull from is an upload instead, and no blob.mounted event', async () => {
    const reg = await startTestRegistry({ events: { log: 'events.jsonl' }, auth: { anonymousPull: false } });
    try {
      const api = client(reg.url, reg.basic);
      const blob = randomBytes(1000);
      assert.equal((await api(`/v2/src/a/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
      const mounted = await api(`/v2/dst/b/blobs/uploads/?mount=${sha256(blob)}&from=src/a`, { method: 'POST' });
      assert.equal(mounted.status, 201);
      const unknown = await api(`/v2/dst/c/blobs/uploads/?mount=${sha256(blob)}&from=nowhere/x`, { method: 'POST' });
      assert.equal(unknown.status, 202, 'nothing to mount from: an upload session');
      const events = await waitFor(async () => {
        const logged = await readLog(path.join(reg.dataDir, 'events.jsonl'));
        return logged.some((e) => e.type === 'blob.mounted') ? logged : undefined;
      });
      assert.deepEqual(
        events.filter((e) => e.type === 'blob.mounted').map((e) => [e.repository, (e as { from?: string }).from]),
        [['dst/b', 'src/a']],
      );
    } finally {
      await reg.close();
    }
  });
});
