// Project storage quotas with real peers: skopeo pushing an image into a project whose quota it
// does not fit (the message the user sees, nothing half-stored), two replicas sharing one
// PostgreSQL database taking parallel pushes into one nearly full project (never past the limit:
// the project's usage row is locked in each push's transaction), and migration 0004 counting an
// existing PostgreSQL database.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pgLib from 'pg';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { migrationProviderFor } from '../../src/metadata/migrations.js';
import { openPostgresMetadata, type PostgresMetadataStore } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { assertOciError, client } from '../helpers/http.js';
import { makeOciLayout, sha256 } from '../helpers/oci.js';
import { run } from '../helpers/peers.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';

async function project(store: SqliteMetadataStore | PostgresMetadataStore, name: string, limit: number): Promise<void> {
  const now = Date.now();
  await store.db.insertInto('projects').values({ name, storage_limit: limit, created_at: now, updated_at: now }).execute();
}

async function assertExact(store: MetadataStore, name: string): Promise<void> {
  const r = await store.transaction((tx) => tx.recountProjectUsage(name));
  assert.deepEqual([r.before, r.blobsFixed, r.manifestsFixed, r.linksFixed], [r.after, 0, 0, 0], `usage of ${name} drifted: ${JSON.stringify(r)}`);
}

describe('skopeo pushes into a project over its quota', () => {
  let tmp: string;
  let reg: TestRegistry;
  let store: SqliteMetadataStore;

  before(async () => {
    tmp = await tempDir('minato-e2e-quota-');
    reg = await startTestRegistry();
    store = await SqliteMetadataStore.open(path.join(reg.dataDir, 'minato.db'));
  });
  after(async () => {
    await store?.close();
    await reg?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the copy fails with the quota named in the error, and the image is not stored', async (t) => {
    const image = await makeOciLayout(path.join(tmp, 'image'), 'v1', 64 * 1024);
    await project(store, 'capped', 16 * 1024);
    const host = new URL(reg.url).host;
    const r = await run('skopeo', ['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `admin:${reg.password}`, image.ref, `docker://${host}/capped/app:v1`], {
      env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') },
    });
    assert.notEqual(r.code, 0, `skopeo should have failed:\n${r.stdout}`);
    t.diagnostic(`skopeo: ${r.stderr.trim()}`);
    // What the user reads: the registry's refusal, word for word.
    assert.match(r.stderr, /denied: the storage quota of project capped does not allow this push: this blob adds 6\d\.\d KiB \(\d+ bytes\), and the project already uses .* of its 16\.0 KiB \(16384 bytes\) limit\. Delete images or blobs from capped, or ask a system administrator to raise its quota/);
    const api = client(reg.url, reg.basic);
    assertOciError(await api('/v2/capped/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    assertOciError(await api(`/v2/capped/app/blobs/${image.layerDigests[0]}`), 404, 'BLOB_UNKNOWN');
    const quota = await store.projectQuota('capped');
    assert.ok(quota.used <= quota.limit, `${quota.used} <= ${quota.limit}`);
    await assertExact(store, 'capped');

    // Once an administrator raises the quota, the same copy goes through.
    await store.transaction((tx) => tx.setStorageLimit('capped', 1024 * 1024));
    const ok = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${reg.password}`, image.ref, `docker://${host}/capped/app:v1`], {
      env: { REGISTRY_AUTH_FILE: path.join(tmp, 'no-auth.json') },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await api('/v2/capped/app/manifests/v1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).status, 200);
    await assertExact(store, 'capped');
  });
});

describe('two replicas on PostgreSQL, parallel pushes into one nearly full project', () => {
  let pg: RunningPostgres;
  let replicas: TestRegistry[] = [];
  let store: PostgresMetadataStore;

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    for (let i = 0; i < 2; i++) replicas.push(await startTestRegistry({ database: { driver: 'postgres', url } }));
    store = await openPostgresMetadata({ url, maxConnections: 2 });
  });
  after(async () => {
    await store?.close();
    for (const r of replicas) await r.close();
    replicas = [];
    await pg?.stop();
  });

  test('never past the limit, whichever replica takes each push', async () => {
    // The second start set the admin password both replicas now check.
    const apis = replicas.map((r) => client(r.url, replicas[1]!.basic));
    await project(store, 'crowd', 100_000);
    const base = randomBytes(40_000);
    assert.equal((await apis[0]!(`/v2/crowd/base/blobs/uploads/?digest=${sha256(base)}`, { method: 'POST', body: base })).status, 201);
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => {
        const blob = randomBytes(5000);
        return apis[i % 2]!(`/v2/crowd/r${i % 4}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
      }),
    );
    const counts = results.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});
    assert.deepEqual(counts, { 201: 12, 403: 20 }, results.filter((r) => r.status !== 201 && r.status !== 403).map((r) => r.text).join('\n'));
    assert.equal((await store.projectQuota('crowd')).used, 100_000);
    await assertExact(store, 'crowd');
  });

  test('migration 0004 counts what an existing database holds', async () => {
    const url = await pg.createDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pgLib.Pool({ connectionString: url, max: 1 }) }) });
    try {
      assert.equal((await new Migrator({ db, provider: migrationProviderFor('postgres') }).migrateTo('0003_projects')).error, undefined);
      const now = Date.now();
      await db.insertInto('repositories').values([{ name: 'team/a', created_at: now }, { name: 'team/b', created_at: now }, { name: 'solo', created_at: now }]).execute();
      const ids = Object.fromEntries((await db.selectFrom('repositories').select(['id', 'name']).execute()).map((r) => [r.name, r.id]));
      await db.insertInto('blobs').values([{ digest: sha256('x'), size: 100, created_at: now }, { digest: sha256('y'), size: 50, created_at: now }]).execute();
      await db
        .insertInto('repository_blobs')
        .values([
          { repository_id: ids['team/a'], digest: sha256('x'), created_at: now },
          { repository_id: ids['team/b'], digest: sha256('x'), created_at: now },
          { repository_id: ids['team/b'], digest: sha256('y'), created_at: now },
          { repository_id: ids.solo, digest: sha256('y'), created_at: now },
        ])
        .execute();
      const m = { digest: sha256('m'), media_type: 'application/vnd.oci.image.manifest.v1+json', size: 7, content: Buffer.from('{"m":1}'), created_at: now };
      await db.insertInto('manifests').values([{ repository_id: ids['team/a'], ...m }, { repository_id: ids['team/b'], ...m }]).execute();
    } finally {
      await db.destroy();
    }
    const upgraded = await openPostgresMetadata({ url, maxConnections: 2 });
    try {
      assert.equal((await upgraded.projectQuota('team')).used, 100 + 50 + 7, 'x once, y, and the manifest once');
      assert.equal((await upgraded.projectQuota('solo')).used, 50);
      for (const name of ['team', 'solo']) await assertExact(upgraded, name);
    } finally {
      await upgraded.close();
    }
  });

  test('usage follows deletes made through either replica at once', async () => {
    const apis = replicas.map((r) => client(r.url, replicas[1]!.basic));
    await project(store, 'flow', 10_000);
    const blob = randomBytes(8000);
    assert.equal((await apis[0]!(`/v2/flow/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
    const next = randomBytes(8000);
    assertOciError(await apis[1]!(`/v2/flow/app/blobs/uploads/?digest=${sha256(next)}`, { method: 'POST', body: next }), 403, 'DENIED');
    assert.equal((await apis[1]!(`/v2/flow/app/blobs/${sha256(blob)}`, { method: 'DELETE' })).status, 202);
    assert.equal((await apis[0]!(`/v2/flow/app/blobs/uploads/?digest=${sha256(next)}`, { method: 'POST', body: next })).status, 201);
    assert.equal((await store.projectQuota('flow')).used, 8000);
    await assertExact(store, 'flow');
  });
});
