// The audit log (events/audit-log-sink.ts feeding audit/audit-log.ts) as one suite, registered
// against each database by audit-log.test.ts: events appended to the outbox become rows in
// Harbor's vocabulary with their project resolved; redelivery adds nothing; and the reader's
// filters, order, pages, cursors, totals and refusals, and the retention's delete.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditLog, AuditQueryError, type AuditFilter } from '../../src/audit/audit-log.js';
import { AUDIT_EVENT_TYPES, eventTypeOf, type AuditRecord } from '../../src/audit/audit-record.js';
import { AuditLogSink } from '../../src/events/audit-log-sink.js';
import type { Actor, RegistryEvent } from '../../src/events/events.js';
import type { Db } from '../../src/metadata/db.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';

export interface AuditLogDatabase {
  name: string;
  /** A fresh, migrated, empty database (with the `library` project migration 0003 makes). */
  open(): Promise<{ meta: MetadataStore; db: Db }>;
}

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const alice: Actor = { kind: 'user', id: 7, name: 'alice', address: '192.0.2.10' };
const MT = 'application/vnd.oci.image.manifest.v1+json';

function record(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    eventId: i,
    opTime: 1_700_000_000_000 + i * 1000,
    projectId: 1,
    operation: 'pull',
    resourceType: 'artifact',
    resource: `library/app:v${i}`,
    principalId: 7,
    username: 'alice',
    address: '192.0.2.10',
    success: true,
    description: '',
    ...over,
  };
}

export function auditLogConformance(impl: AuditLogDatabase): void {
  const withDb = (name: string, fn: (meta: MetadataStore, db: Db) => Promise<void>) =>
    it(name, async () => {
      const { meta, db } = await impl.open();
      try {
        await fn(meta, db);
      } finally {
        await meta.close();
      }
    });

  /** Appends events (one transaction each) and delivers the outbox from `after` to a database sink, as the dispatcher does. */
  async function deliver(meta: MetadataStore, db: Db, transactions: RegistryEvent[][], options: { after?: number; batch?: number } = {}): Promise<void> {
    for (const events of transactions) await meta.transaction((tx) => tx.appendEvents(events));
    const sink = new AuditLogSink(meta, db, new AuditLog(db, meta));
    let cursor = options.after ?? 0;
    for (;;) {
      const batch = await meta.eventsAfter(cursor, options.batch ?? 500);
      if (batch.length === 0) return;
      await sink.deliver(batch, new AbortController().signal);
      cursor = batch[batch.length - 1]!.id;
    }
  }

  const everything = (db: Db) => new AuditLog(db).query({}, { pageSize: 1000, order: 'oldest' }).then((p) => p.items);

  describe(`audit log: ${impl.name}`, () => {
    withDb('every audited event becomes one row in Harbor vocabulary, with its project, actor and result', async (meta, db) => {
      const at = new Date(1_700_000_000_000).toISOString();
      const library = (await db.selectFrom('projects').select('id').where('name', '=', 'library').executeTakeFirstOrThrow()).id;
      await deliver(meta, db, [
        // A push by tag: one row (the artifact's), not one more for its new tag.
        [
          { type: 'manifest.pushed', at, actor: alice, repository: 'library/app', digest: D1, mediaType: MT, size: 500, tag: 'v1' },
          { type: 'tag.updated', at, actor: alice, repository: 'library/app', tag: 'v1', digest: D1 },
        ],
        // A push that moves a tag: the move is a row of its own, naming both digests.
        [
          { type: 'manifest.pushed', at, actor: alice, repository: 'library/app', digest: D2, mediaType: MT, size: 600, tag: 'v1' },
          { type: 'tag.updated', at, actor: alice, repository: 'library/app', tag: 'v1', digest: D2, previous: D1 },
        ],
        [{ type: 'artifact.pulled', at, actor: { kind: 'anonymous', address: '198.51.100.4' }, repository: 'nowhere/app', digest: D2, tag: 'v1', count: 12 }],
        [{ type: 'tag.deleted', at, actor: alice, repository: 'library/app', tag: 'v1', digest: D2 }],
        // A delete by digest: one row naming its tags, none for each tag.
        [
          { type: 'manifest.deleted', at, actor: alice, repository: 'library/app', digest: D1, tags: ['a', 'b'] },
          { type: 'tag.deleted', at, actor: alice, repository: 'library/app', tag: 'a', digest: D1 },
          { type: 'tag.deleted', at, actor: alice, repository: 'library/app', tag: 'b', digest: D1 },
        ],
        [{ type: 'blob.pushed', at, actor: alice, repository: 'library/app', digest: D1, size: 3 }],
        [{ type: 'auth.login', at, actor: { kind: 'anonymous', address: '203.0.113.9' }, user: 'mallory', ok: false, reason: 'password' }],
        [{ type: 'auth.login', at, actor: { kind: 'anonymous', address: '203.0.113.9' }, user: 'x'.repeat(5000), ok: false, reason: 'throttled' }],
        [{ type: 'auth.login', at, actor: alice, user: 'alice', ok: true }],
        [{ type: 'project.changed', at, actor: alice, project: 'team', projectId: 42, change: 'created', origin: 'o' }],
        [{ type: 'member.changed', at, actor: alice, project: 'team', projectId: 42, member: 'bob', memberId: 9, role: 2, change: 'updated', origin: 'o' }],
        [{ type: 'robot.changed', at, actor: alice, robot: 'robot$library+ci', robotId: 11, project: 'library', change: 'secret', origin: 'o' }],
        [{ type: 'user.changed', at, actor: { kind: 'system' }, user: 'bob', change: 'deleted', origin: 'o' }],
        [{ type: 'config.changed', at, actor: alice, keys: ['project_creation_restriction'], origin: 'o' }],
        [{ type: 'quota.warning', at, actor: alice, project: 'library', projectId: library, usedBytes: 90, limitBytes: 100 }],
      ]);
      const rows = (await everything(db)).map((r) => [r.operation, r.resourceType, r.resource, r.projectId, r.principalId, r.username, r.address, r.success, r.description]);
      assert.deepEqual(rows, [
        ['create', 'artifact', 'library/app:v1', library, 7, 'alice', '192.0.2.10', true, `pushed ${D1} (${MT}, 500 bytes)`],
        ['create', 'artifact', 'library/app:v1', library, 7, 'alice', '192.0.2.10', true, `pushed ${D2} (${MT}, 600 bytes)`],
        ['create', 'tag', 'library/app:v1', library, 7, 'alice', '192.0.2.10', true, `moved from ${D1} to ${D2}`],
        ['pull', 'artifact', 'nowhere/app:v1', null, null, 'anonymous', '198.51.100.4', true, `12 pulls of ${D2}`],
        ['delete', 'tag', 'library/app:v1', library, 7, 'alice', '192.0.2.10', true, `pointed to ${D2}`],
        ['delete', 'artifact', `library/app@${D1}`, library, 7, 'alice', '192.0.2.10', true, 'deleted with its tags a, b'],
        ['login', 'user', 'mallory', null, null, 'mallory', '203.0.113.9', false, 'wrong user name or password'],
        ['login', 'user', 'x'.repeat(255), null, null, 'x'.repeat(255), '203.0.113.9', false, 'refused: too many failed logins from this address'],
        ['login', 'user', 'alice', null, 7, 'alice', '192.0.2.10', true, 'signed in'],
        ['create', 'project', 'team', 42, 7, 'alice', '192.0.2.10', true, ''],
        ['update', 'member', 'bob', 42, 7, 'alice', '192.0.2.10', true, 'role Developer'],
        ['update', 'robot', 'robot$library+ci', library, 7, 'alice', '192.0.2.10', true, 'secret refreshed'],
        ['delete', 'user', 'bob', null, null, 'system', null, true, ''],
        ['update', 'configuration', 'configuration', null, 7, 'alice', '192.0.2.10', true, 'changed project_creation_restriction'],
      ]);
      assert.ok((await everything(db)).every((r) => r.opTime === 1_700_000_000_000));
      for (const r of await everything(db)) assert.ok((AUDIT_EVENT_TYPES as readonly string[]).includes(eventTypeOf(r)), eventTypeOf(r));
    });

    withDb('redelivery adds nothing, and a batch boundary inside a transaction still gives one row per push', async (meta, db) => {
      const at = new Date().toISOString();
      const pushes: RegistryEvent[][] = [];
      for (let i = 0; i < 5; i++) {
        pushes.push([
          { type: 'manifest.pushed', at, actor: alice, repository: 'library/app', digest: D1, mediaType: MT, size: 1, tag: `t${i}` },
          { type: 'tag.updated', at, actor: alice, repository: 'library/app', tag: `t${i}`, digest: D1 },
        ]);
      }
      // Batches of 3 events: every other push is split between two batches.
      await deliver(meta, db, pushes, { batch: 3 });
      assert.deepEqual((await everything(db)).map((r) => `${r.operation} ${r.resourceType} ${r.resource}`), [0, 1, 2, 3, 4].map((i) => `create artifact library/app:t${i}`));
      // The dispatcher delivers again after a crash before it stored its cursor: no duplicates.
      await deliver(meta, db, [], { batch: 3 });
      await deliver(meta, db, [], { after: 5 }); // from a tag event whose manifest event is before the batch
      assert.equal((await everything(db)).length, 5);
    });

    withDb('filters: operation, resource type, resource (exact, prefix, contains), user, project, result, time', async (meta, db) => {
      const log = new AuditLog(db);
      await log.write([
        record(1),
        record(2, { operation: 'create', resource: 'library/web:1' }),
        record(3, { operation: 'delete', resourceType: 'tag', resource: 'team/app:old', projectId: 2, username: 'bob', principalId: 8 }),
        record(4, { operation: 'login', resourceType: 'user', resource: 'mallory', projectId: null, username: 'mallory', principalId: null, success: false }),
        record(5, { resource: 'Library/100%_done:x', projectId: null }),
        record(6, { operation: 'login', resourceType: 'user', resource: 'alice', projectId: null }),
      ]);
      const ids = async (filter: AuditFilter) => (await log.query(filter, { pageSize: 100, order: 'oldest' })).items.map((e) => e.eventId);
      assert.deepEqual(await ids({}), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(await ids({ operation: 'login' }), [4, 6]);
      assert.deepEqual(await ids({ operation: ['create', 'delete'] }), [2, 3]);
      assert.deepEqual(await ids({ operation: [] }), []);
      assert.deepEqual(await ids({ resourceType: 'tag' }), [3]);
      assert.deepEqual(await ids({ resource: 'library/app:v1' }), [1]);
      assert.deepEqual(await ids({ resource: 'library/app' }), [], 'exact means exact');
      assert.deepEqual(await ids({ resource: { prefix: 'library/' } }), [1, 2, 5], 'prefix ignores ASCII case');
      assert.deepEqual(await ids({ resource: { contains: 'app' } }), [1, 3]);
      assert.deepEqual(await ids({ resource: { contains: '100%_' } }), [5], '% and _ are literal');
      assert.deepEqual(await ids({ resource: { contains: '0%' } }), [5]);
      assert.deepEqual(await ids({ resource: { contains: '_d' } }), [5]);
      assert.deepEqual(await ids({ resource: { prefix: 'l_brary' } }), []);
      assert.deepEqual(await ids({ username: 'bob' }), [3]);
      assert.deepEqual(await ids({ username: { contains: 'ALL' } }), [4]);
      assert.deepEqual(await ids({ projectId: 1 }), [1, 2]);
      assert.deepEqual(await ids({ success: false }), [4]);
      assert.deepEqual(await ids({ success: true, operation: 'login' }), [6]);
      assert.deepEqual(await ids({ from: record(3).opTime, to: record(5).opTime }), [3, 4, 5], 'the range is inclusive');
      assert.deepEqual(await ids({ from: record(3).opTime, username: 'alice' }), [5, 6]);
      const failed = (await log.query({ success: false }, { pageSize: 10 })).items[0]!;
      assert.deepEqual(failed, { ...record(4, { operation: 'login', resourceType: 'user', resource: 'mallory', projectId: null, username: 'mallory', principalId: null, success: false }), id: failed.id });
    });

    withDb('newest first; pages by number and by cursor agree, with the total; ties in time ordered by id', async (meta, db) => {
      const log = new AuditLog(db);
      // 250 entries, five per second: times tie.
      await log.write(Array.from({ length: 250 }, (_, i) => record(i + 1, { opTime: 1_700_000_000_000 + Math.floor(i / 5) * 1000, username: i % 2 ? 'odd' : 'even' })));
      const first = await log.query({}, { pageSize: 100 });
      assert.equal(first.total, 250);
      assert.deepEqual(
        first.items.slice(0, 6).map((e) => e.eventId),
        [250, 249, 248, 247, 246, 245],
      );
      const byNumber = [first, await log.query({}, { pageSize: 100, page: 2 }), await log.query({}, { pageSize: 100, page: 3 })];
      assert.deepEqual(byNumber.map((p) => p.items.length), [100, 100, 50]);
      assert.equal(byNumber[2]!.next, undefined, 'the last page has no next');
      assert.deepEqual((await log.query({}, { pageSize: 100, page: 4 })).items, []);
      const byCursor = [first];
      while (byCursor[byCursor.length - 1]!.next) byCursor.push(await log.query({}, { pageSize: 100, after: byCursor[byCursor.length - 1]!.next }));
      assert.deepEqual(byCursor.flatMap((p) => p.items.map((e) => e.eventId)), byNumber.flatMap((p) => p.items.map((e) => e.eventId)));
      assert.deepEqual(byCursor.flatMap((p) => p.items.map((e) => e.eventId)), Array.from({ length: 250 }, (_, i) => 250 - i));
      // Filtered and oldest first, through pages.
      const odd = await log.query({ username: 'odd' }, { pageSize: 50, page: 2, order: 'oldest' });
      assert.equal(odd.total, 125);
      assert.deepEqual(odd.items.slice(0, 3).map((e) => e.eventId), [102, 104, 106]);
      const oddNext = await log.query({ username: 'odd' }, { pageSize: 50, after: odd.next, order: 'oldest' });
      assert.equal(oddNext.items[0]!.eventId, 202);
      assert.equal(await log.count({ username: 'even' }), 125);
    });

    withDb('a page size, page or cursor it cannot honour is refused as the caller’s mistake', async (_meta, db) => {
      const log = new AuditLog(db);
      for (const request of [{ pageSize: 0 }, { pageSize: 1001 }, { pageSize: 1.5 }, { pageSize: 10, page: 0 }, { pageSize: 10, page: -1 }, { pageSize: 10, after: 'x' }, { pageSize: 10, after: '1.2.3' }, { pageSize: 10, after: "1'; drop table audit_logs; --" }]) {
        await assert.rejects(log.query({}, request), AuditQueryError, JSON.stringify(request));
      }
      assert.equal((await log.query({}, { pageSize: 10 })).total, 0);
    });

    withDb('a write while a write transaction of the store awaits I/O takes its turn instead of failing', async (meta, db) => {
      const log = new AuditLog(db, meta);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const transaction = meta.transaction(async (tx) => {
        await tx.linkBlob('library/app', D1, 1);
        await held; // a decider that waits on something
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const t0 = performance.now();
      const writing = log.write([record(1)]);
      setTimeout(release, 100);
      await writing;
      await transaction;
      assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
      assert.equal(await log.count({}), 1);
      assert.equal(await log.deleteBefore(Number.MAX_SAFE_INTEGER), 1);
    });

    withDb('deleteBefore removes what is older, in chunks, and keeps the rest', async (meta, db) => {
      const log = new AuditLog(db, meta);
      await log.write(Array.from({ length: 12_000 }, (_, i) => record(i + 1)));
      assert.equal(await log.deleteBefore(record(11_001).opTime), 11_000);
      assert.equal(await log.count({}), 1000);
      assert.equal((await log.query({}, { pageSize: 1, order: 'oldest' })).items[0]!.eventId, 11_001);
      assert.equal(await log.deleteBefore(0), 0);
    });
  });
}
