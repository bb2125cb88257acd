// The audit log end to end, through a real in-process registry: pushes, pulls, tag moves,
// deletes and logins (failed ones too) become rows with who, what, from where and the result;
// changes of projects, members, robots, users and the configuration written to the outbox by
// another process become rows; redelivery adds none; retention deletes what is older; the file
// forwarder and audit.skipDatabase. (Syslog forwarding, against rsyslog: test/e2e/audit-syslog.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { AuditLog, type AuditFilter } from '../../src/audit/audit-log.js';
import type { AuditEntry } from '../../src/audit/audit-record.js';
import { parseConfig } from '../../src/config/load.js';
import type { RegistryEvent } from '../../src/events/events.js';
import { openSqlite, type Db } from '../../src/metadata/db.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-metadata-store.js';
import { client, request } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, tempDir } from '../helpers/registry.js';

const MEDIA_TYPE = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };

/** The audit log of a registry's data directory, read as an operator's tool would (its own connection). */
async function openAudit(dataDir: string): Promise<{ log: AuditLog; db: Db; close(): Promise<void> }> {
  const db = await openSqlite(path.join(dataDir, 'minato.db'));
  return { log: new AuditLog(db), db, close: () => db.destroy() };
}

async function entries(log: AuditLog, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  return (await log.query(filter, { pageSize: 1000, order: 'oldest' })).items;
}

/** Pushes two blobs and returns a manifest factory for them. */
async function pushBlobs(api: ReturnType<typeof client>, repository: string): Promise<(seed: string) => Buffer> {
  const layer = randomBytes(2000);
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  for (const blob of [layer, config]) {
    const res = await api(`/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
    assert.equal(res.status, 201, res.text);
  }
  return (seed) => imageManifest(config, [layer], { annotations: { seed } });
}

describe('audit log', () => {
  test('pushes, pulls, tag moves, deletes and logins are rows with who, what, from where and the result', async () => {
    const reg = await startTestRegistry({ auth: { anonymousPull: true }, audit: { forward: { file: 'audit.jsonl' } } });
    const audit = await openAudit(reg.dataDir);
    try {
      const api = client(reg.url, reg.basic);
      const manifest = await pushBlobs(api, 'library/app');
      const v1 = manifest('1');
      const v2 = manifest('2');
      const put = async (ref: string, body: Buffer) => assert.equal((await api(`/v2/library/app/manifests/${ref}`, { method: 'PUT', body, headers: MEDIA_TYPE })).status, 201);
      await put('latest', v1);
      assert.equal((await api('/v2/library/app/manifests/latest')).status, 200);
      assert.equal((await api('/v2/library/app/manifests/latest')).status, 200);
      // The same credentials from another address: a row of its own, not one more in the count.
      assert.equal((await api('/v2/library/app/manifests/latest', { localAddress: '127.0.0.3' })).status, 200);
      assert.equal((await request(`${reg.url}/v2/library/app/manifests/${sha256(v1)}`)).status, 200, 'an anonymous pull');
      await put('latest', v2);
      await put('stable', v1);
      assert.equal((await api('/v2/library/app/manifests/latest', { method: 'DELETE' })).status, 202);
      assert.equal((await api(`/v2/library/app/manifests/${sha256(v1)}`, { method: 'DELETE' })).status, 202);
      const elsewhere = await pushBlobs(api, 'nowhere/app');
      assert.equal((await api('/v2/nowhere/app/manifests/1', { method: 'PUT', body: elsewhere('x'), headers: MEDIA_TYPE })).status, 201);
      // Refused requests change nothing: no rows, except the failed login itself, from its own address.
      const wrong = `Basic ${Buffer.from('admin:not-the-password').toString('base64')}`;
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: wrong }, localAddress: '127.0.0.2' })).status, 401);
      assert.equal((await api('/v2/library/app/manifests/broken', { method: 'PUT', body: manifest('3').subarray(0, 20), headers: MEDIA_TYPE })).status, 400);

      const rows = await waitFor(
        async () => {
          const all = await entries(audit.log);
          return all.some((e) => e.operation === 'login' && !e.success) && all.filter((e) => e.operation === 'pull').length === 3 ? all : undefined;
        },
        10_000,
        'the failed login and the three pull rows',
      );
      const admin = (await audit.db.selectFrom('principals').select('id').where('kind', '=', 'user').where('name', '=', 'admin').executeTakeFirstOrThrow()).id;
      const library = (await audit.db.selectFrom('projects').select('id').where('name', '=', 'library').executeTakeFirstOrThrow()).id;
      // "nowhere" was made by its first push (projects.autoCreate): a row of its own, left out here.
      const nowhere = (await audit.db.selectFrom('projects').select('id').where('name', '=', 'nowhere').executeTakeFirstOrThrow()).id;
      const d1 = sha256(v1);
      const d2 = sha256(v2);
      assert.deepEqual(
        rows.filter((e) => e.resourceType !== 'user' && e.resourceType !== 'project' && e.resourceType !== 'member').map((e) => [e.operation, e.resourceType, e.resource, e.username, e.projectId, e.description]),
        [
          ['create', 'artifact', 'library/app:latest', 'admin', library, `pushed ${d1} (application/vnd.oci.image.manifest.v1+json, ${v1.length} bytes)`],
          ['pull', 'artifact', 'library/app:latest', 'admin', library, `2 pulls of ${d1}`],
          ['pull', 'artifact', 'library/app:latest', 'admin', library, `1 pull of ${d1}`],
          ['pull', 'artifact', `library/app@${d1}`, 'anonymous', library, `1 pull of ${d1}`],
          ['create', 'artifact', 'library/app:latest', 'admin', library, `pushed ${d2} (application/vnd.oci.image.manifest.v1+json, ${v2.length} bytes)`],
          ['create', 'tag', 'library/app:latest', 'admin', library, `moved from ${d1} to ${d2}`],
          ['create', 'artifact', 'library/app:stable', 'admin', library, `pushed ${d1} (application/vnd.oci.image.manifest.v1+json, ${v1.length} bytes)`],
          ['delete', 'tag', 'library/app:latest', 'admin', library, `pointed to ${d2}`],
          ['delete', 'artifact', `library/app@${d1}`, 'admin', library, 'deleted with its tags stable'],
          ['create', 'artifact', 'nowhere/app:1', 'admin', nowhere, `pushed ${sha256(elsewhere('x'))} (application/vnd.oci.image.manifest.v1+json, ${elsewhere('x').length} bytes)`],
        ],
      );
      // Who: the admin's stable id on its rows, none for the anonymous pull; where: the client's address.
      const fromAdmin = rows.filter((r) => r.username === 'admin' && r.success);
      for (const e of fromAdmin) assert.equal(e.principalId, admin, `${e.operation} ${e.resource}`);
      assert.deepEqual(
        fromAdmin.filter((e) => e.operation === 'pull').map((e) => e.address),
        ['127.0.0.1', '127.0.0.3'],
      );
      for (const e of fromAdmin.filter((r) => r.operation !== 'pull' && r.operation !== 'login')) assert.equal(e.address, '127.0.0.1', `${e.operation} ${e.resource}`);
      const anonymous = rows.find((e) => e.username === 'anonymous')!;
      assert.deepEqual([anonymous.principalId, anonymous.address], [null, '127.0.0.1']);
      // Logins: the successful one with its id; the failed one with the name it claimed, no id, its address and why.
      const logins = rows.filter((e) => e.operation === 'login');
      assert.ok(logins.some((e) => e.success && e.username === 'admin' && e.principalId === admin && e.resource === 'admin'));
      const failed = logins.filter((e) => !e.success);
      assert.deepEqual(
        failed.map((e) => [e.resourceType, e.resource, e.username, e.principalId, e.address, e.projectId, e.description]),
        [['user', 'admin', 'admin', null, '127.0.0.2', null, 'wrong user name or password']],
      );
      // The queries the API will ask.
      assert.deepEqual((await entries(audit.log, { operation: 'login', success: false })).map((e) => e.address), ['127.0.0.2']);
      assert.equal((await audit.log.query({ projectId: library }, { pageSize: 3 })).total, 9);
      assert.deepEqual((await entries(audit.log, { resource: { prefix: 'nowhere/' } })).map((e) => e.resource), ['nowhere/app:1']);
      assert.deepEqual((await entries(audit.log, { resourceType: 'tag' })).map((e) => e.operation), ['create', 'delete']);
      const newest = (await audit.log.query({}, { pageSize: 1 })).items[0]!;
      assert.equal(newest.opTime, Math.max(...rows.map((e) => e.opTime)));

      // The forwarded file: one JSON line per row, with Harbor's event type.
      const lines = await waitFor(async () => {
        const text = await readFile(path.join(reg.dataDir, 'audit.jsonl'), 'utf8').catch(() => '');
        const parsed = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        return parsed.length >= rows.length ? parsed : undefined;
      });
      assert.deepEqual(lines.map((l) => l.event_id).sort((a, b) => Number(a) - Number(b)), rows.map((e) => e.eventId).sort((a, b) => a - b));
      const moved = lines.find((l) => l.event_type === 'create_tag')!;
      assert.deepEqual(
        { ...moved, op_time: undefined, event_id: undefined },
        {
          op_time: undefined,
          event_id: undefined,
          event_type: 'create_tag',
          operation: 'create',
          resource_type: 'tag',
          resource: 'library/app:latest',
          project_id: library,
          username: 'admin',
          principal_id: admin,
          address: '127.0.0.1',
          success: true,
          description: `moved from ${d1} to ${d2}`,
        },
      );
    } finally {
      await audit.close();
      await reg.close();
    }
  });

  test('project, member, robot, user and configuration changes another process writes to the outbox become rows, even while the server is down', async () => {
    const dataDir = await tempDir();
    // A first start that records nothing: its sinks still store where they start from, so what
    // happens while the server is down is not skipped at the next start.
    await (await startTestRegistry({ data: dataDir })).close();
    // The CLI or another replica: its own connection to the database, its own transactions.
    const other = await SqliteMetadataStore.open(path.join(dataDir, 'minato.db'));
    const at = new Date().toISOString();
    const alice = { kind: 'user', id: 5, name: 'alice', address: '192.0.2.1' } as const;
    const events: RegistryEvent[] = [
      { type: 'project.changed', at, actor: alice, project: 'team', projectId: 2, change: 'created', origin: 'cli' },
      { type: 'member.changed', at, actor: alice, project: 'team', projectId: 2, member: 'bob', memberId: 6, role: 4, change: 'created', origin: 'cli' },
      { type: 'robot.changed', at, actor: alice, robot: 'robot$library+ci', robotId: 9, project: 'library', change: 'created', origin: 'cli' },
      { type: 'robot.changed', at, actor: alice, robot: 'robot$deployer', robotId: 10, change: 'deleted', origin: 'cli' },
      { type: 'config.changed', at, actor: alice, keys: ['audit_log_forward_endpoint'], origin: 'cli' },
      { type: 'project.changed', at, actor: alice, project: 'team', projectId: 2, change: 'deleted', origin: 'cli' },
    ];
    await other.transaction((tx) => tx.appendEvents(events));
    await other.close();
    const reg = await startTestRegistry({ data: dataDir });
    const audit = await openAudit(dataDir);
    try {
      // A user change as the registry makes it (DatabaseUsers writes user.changed with the change).
      await reg.users!.setPassword('bob', 'a-long-password-1');
      const rows = await waitFor(async () => {
        const all = await entries(audit.log, { resourceType: ['project', 'member', 'robot', 'configuration', 'user'], operation: ['create', 'update', 'delete'] });
        return all.some((e) => e.resource === 'bob' && e.resourceType === 'user') ? all.filter((e) => e.resource !== 'admin') : undefined;
      });
      const library = (await audit.db.selectFrom('projects').select('id').where('name', '=', 'library').executeTakeFirstOrThrow()).id;
      assert.deepEqual(
        rows.map((e) => [e.operation, e.resourceType, e.resource, e.projectId, e.username, e.principalId, e.address, e.description]),
        [
          ['create', 'project', 'team', 2, 'alice', 5, '192.0.2.1', ''],
          ['create', 'member', 'bob', 2, 'alice', 5, '192.0.2.1', 'role Maintainer'],
          ['create', 'robot', 'robot$library+ci', library, 'alice', 5, '192.0.2.1', ''],
          ['delete', 'robot', 'robot$deployer', null, 'alice', 5, '192.0.2.1', ''],
          ['update', 'configuration', 'configuration', null, 'alice', 5, '192.0.2.1', 'changed audit_log_forward_endpoint'],
          ['delete', 'project', 'team', 2, 'alice', 5, '192.0.2.1', ''],
          ['update', 'user', 'bob', null, 'system', null, null, 'password set'],
        ],
      );
      assert.deepEqual((await entries(audit.log, { projectId: 2 })).map((e) => `${e.operation} ${e.resourceType}`), ['create project', 'create member', 'delete project']);
    } finally {
      await audit.close();
      await reg.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('redelivery after a restart adds no rows; the file gets the repeats, each with its event id', async () => {
    const dataDir = await tempDir();
    try {
      const config = { data: dataDir, audit: { forward: { file: 'audit.jsonl' } } };
      let reg = await startTestRegistry(config);
      const api = client(reg.url, reg.basic);
      const manifest = await pushBlobs(api, 'library/re');
      for (const tag of ['a', 'b', 'c']) assert.equal((await api(`/v2/library/re/manifests/${tag}`, { method: 'PUT', body: manifest(tag), headers: MEDIA_TYPE })).status, 201);
      const audit = await openAudit(dataDir);
      try {
        const before = await waitFor(async () => {
          const all = await entries(audit.log, { resourceType: 'artifact' });
          return all.length === 3 ? await entries(audit.log) : undefined;
        });
        await reg.close();
        // As after a crash before the cursors were stored: every sink delivers everything again.
        await audit.db.updateTable('event_cursors').set({ last_id: 0 }).execute();
        reg = await startTestRegistry(config);
        const file = path.join(dataDir, 'audit.jsonl');
        const lines = await waitFor(async () => {
          const cursor = await audit.db.selectFrom('event_cursors').select('last_id').where('sink', '=', 'audit-file').executeTakeFirst();
          const last = await audit.db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
          if (!cursor || cursor.last_id < Number(last.id)) return undefined;
          return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event_id: number });
        });
        await waitFor(async () => {
          const cursor = await audit.db.selectFrom('event_cursors').select('last_id').where('sink', '=', 'audit-database').executeTakeFirst();
          const last = await audit.db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
          return cursor !== undefined && cursor.last_id >= Number(last.id);
        });
        const after = await entries(audit.log);
        // Everything recorded before is there once (events the first run had not delivered yet,
        // such as the admin's password set before its dispatcher started, are new rows).
        assert.equal(new Set(after.map((e) => e.eventId)).size, after.length, 'no event recorded twice');
        const again = new Map(after.map((e) => [e.eventId, e]));
        for (const e of before) assert.deepEqual(again.get(e.eventId), e);
        assert.equal((await entries(audit.log, { resourceType: 'artifact' })).length, 3);
        const ids = lines.map((l) => l.event_id);
        assert.ok(ids.length > new Set(ids).size, 'the file saw the batch twice');
        assert.deepEqual([...new Set(ids)].sort((a, b) => a - b), after.map((e) => e.eventId).sort((a, b) => a - b));
      } finally {
        await audit.close();
        await reg.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('audit.retentionDays deletes older entries at start, and keeps the rest', async () => {
    const dataDir = await tempDir();
    try {
      const seed = await openAudit(dataDir);
      const day = 86_400_000;
      const now = Date.now();
      await seed.log.write(
        [100, 40, 31, 29, 1].map((days, i) => ({
          eventId: 1_000_000 + i,
          opTime: now - days * day,
          projectId: null,
          operation: 'login',
          resourceType: 'user',
          resource: 'admin',
          principalId: null,
          username: 'admin',
          address: null,
          success: true,
          description: `${days} days ago`,
        })),
      );
      await seed.close();
      const reg = await startTestRegistry({ data: dataDir, audit: { retentionDays: 30 } });
      const audit = await openAudit(dataDir);
      try {
        const kept = await waitFor(async () => {
          const all = await entries(audit.log, { from: 0, to: now });
          return all.length === 2 ? all : undefined;
        });
        assert.deepEqual(kept.map((e) => e.description), ['29 days ago', '1 days ago']);
      } finally {
        await audit.close();
        await reg.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('audit.skipDatabase forwards only; without a destination the configuration is refused', async () => {
    assert.throws(() => parseConfig({ audit: { skipDatabase: true } }), /audit\.skipDatabase: the audit log would go nowhere/);
    const reg = await startTestRegistry({ audit: { skipDatabase: true, forward: { file: 'audit.jsonl' } } });
    const audit = await openAudit(reg.dataDir);
    try {
      assert.equal((await client(reg.url, reg.basic)('/v2/')).status, 200);
      const lines = await waitFor(async () => {
        const text = await readFile(path.join(reg.dataDir, 'audit.jsonl'), 'utf8').catch(() => '');
        return text.includes('"login_user"') ? text : undefined;
      });
      assert.match(lines, /"username":"admin"/);
      assert.equal(await audit.log.count({}), 0);
    } finally {
      await audit.close();
      await reg.close();
    }
  });
});
