// The access store's conformance suite (projects, members, robots, admins), run against SQLite and
// PostgreSQL by access-store.test.ts: the same Kysely code must mean the same on both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessStore } from '../../src/auth/access-store.js';
import { SYSTEM_ACTOR, type RegistryEvent } from '../../src/events/events.js';
import type { Db } from '../../src/metadata/db.js';
import { DomainError } from '../../src/util/domain-error.js';

export interface AccessStoreTarget {
  name: string;
  /** A fresh, migrated database. */
  open(): Promise<{ db: Db; close(): Promise<void> }>;
}

async function rejectsWith(promise: Promise<unknown>, code: DomainError['code'], message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

export function accessStoreConformance(target: AccessStoreTarget): void {
  describe(`access store: ${target.name}`, () => {
    const withStore = async (fn: (store: AccessStore, db: Db) => Promise<void>) => {
      const { db, close } = await target.open();
      try {
        await fn(new AccessStore(db, 'origin-a'), db);
      } finally {
        await close();
      }
    };
    const events = async (db: Db) =>
      (await db.selectFrom('events').select('payload').orderBy('id').execute()).map((r) => JSON.parse(r.payload) as RegistryEvent);

    test('library exists from the start, public', async () => {
      await withStore(async (store) => {
        const library = await store.getProject('library');
        assert.equal(library?.public, true);
        assert.equal(library?.metadata.public, 'true');
        assert.equal(library?.storageLimit, -1);
      });
    });

    test('a project is created once, its owner its admin, with an event in the same transaction', async () => {
      await withStore(async (store, db) => {
        const owner = await store.principalId('user', 'alice');
        const made = await store.createProject({ name: 'team', public: false, ownerId: owner, metadata: { auto_scan: 'true' } }, SYSTEM_ACTOR);
        assert.equal(made.name, 'team');
        assert.deepEqual(made.metadata, { auto_scan: 'true', public: 'false' });
        assert.deepEqual((await store.getProject(made.id))?.name, 'team');
        const members = await store.members(made.id);
        assert.deepEqual(members.map((m) => [m.name, m.roleId]), [['alice', 1]]);
        await rejectsWith(store.createProject({ name: 'team', public: true, ownerId: null }, SYSTEM_ACTOR), 'ALREADY_EXISTS');
        await rejectsWith(store.createProject({ name: 'Bad Name', public: true, ownerId: null }, SYSTEM_ACTOR), 'INVALID', /not a valid project name/);
        await rejectsWith(store.createProject({ name: 'a--b', public: true, ownerId: null }, SYSTEM_ACTOR), 'INVALID');
        const changes = (await events(db)).filter((e) => e.type === 'project.changed');
        assert.equal(changes.length, 1, 'the refused creations left no event');
        assert.deepEqual(changes.map((e) => e.type === 'project.changed' && [e.project, e.change, e.origin]), [['team', 'created', 'origin-a']]);
      });
    });

    test('two concurrent creations of one name: one wins, the other is a conflict', async () => {
      await withStore(async (store) => {
        const results = await Promise.allSettled([1, 2, 3].map(() => store.createProject({ name: 'race', public: false, ownerId: null }, SYSTEM_ACTOR)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, 'ALREADY_EXISTS');
      });
    });

    test('metadata is merged, public follows it, a key can be removed but not public', async () => {
      await withStore(async (store) => {
        const p = await store.createProject({ name: 'meta', public: false, ownerId: null }, SYSTEM_ACTOR);
        const updated = await store.updateProject(p.id, { metadata: { public: 'true', severity: 'high' }, storageLimit: 1000 }, SYSTEM_ACTOR);
        assert.equal(updated.public, true);
        assert.equal(updated.storageLimit, 1000);
        assert.deepEqual(updated.metadata, { public: 'true', severity: 'high' });
        assert.deepEqual((await store.deleteProjectMetadata(p.id, 'severity', SYSTEM_ACTOR)).metadata, { public: 'true' });
        await rejectsWith(store.deleteProjectMetadata(p.id, 'public', SYSTEM_ACTOR), 'INVALID');
        await rejectsWith(store.deleteProjectMetadata(p.id, 'nothing', SYSTEM_ACTOR), 'NOT_FOUND');
        await rejectsWith(store.updateProject(99999, { metadata: {} }, SYSTEM_ACTOR), 'NOT_FOUND');
      });
    });

    test('a project with repositories cannot be deleted; an empty one goes with its members and robots', async () => {
      await withStore(async (store, db) => {
        const p = await store.createProject({ name: 'full', public: false, ownerId: await store.principalId('user', 'bob') }, SYSTEM_ACTOR);
        // "full0" and "fullx/y" are other projects' repositories: only "full" and "full/..." count.
        await db.insertInto('repositories').values([{ name: 'fullx/y', created_at: 1 }, { name: 'full0', created_at: 1 }]).execute();
        assert.equal(await store.repositoryCount('full'), 0);
        const repo = await db.insertInto('repositories').values({ name: 'full/app', created_at: 1 }).returning('id').executeTakeFirstOrThrow();
        // A repository counts while it holds an artifact (one whose artifacts were all deleted is gone).
        assert.equal(await store.repositoryCount('full'), 0);
        const manifest = { repository_id: Number(repo.id), digest: 'sha256:00', media_type: 'application/vnd.oci.image.manifest.v1+json', size: 2, content: Buffer.from('{}'), created_at: 1 };
        await db.insertInto('manifests').values(manifest).execute();
        assert.equal(await store.repositoryCount('full'), 1);
        await rejectsWith(store.deleteProject(p.id, SYSTEM_ACTOR), 'CONFLICT', /still has repositories \(full\/app/);
        await db.deleteFrom('manifests').where('repository_id', '=', Number(repo.id)).execute();
        await store.createRobot({ name: 'full+ci', projectId: p.id, description: '', secretHash: 'h', permissions: [], duration: -1, expiresAt: -1, disabled: false, creatorId: null }, 'full', SYSTEM_ACTOR);
        await store.deleteProject(p.id, SYSTEM_ACTOR);
        assert.equal(await store.getProject('full'), undefined);
        const snap = await store.snapshot();
        assert.equal(snap.members.filter((m) => m.projectId === p.id).length, 0);
        assert.equal(snap.robots.length, 0);
      });
    });

    test('members: added once, role changed, removed; unknown roles refused', async () => {
      await withStore(async (store) => {
        const p = await store.createProject({ name: 'crew', public: false, ownerId: null }, SYSTEM_ACTOR);
        const carol = { id: await store.principalId('user', 'carol'), name: 'carol' };
        assert.equal((await store.setMember(p, carol, 2, SYSTEM_ACTOR, true)).roleId, 2);
        await rejectsWith(store.setMember(p, carol, 3, SYSTEM_ACTOR, true), 'ALREADY_EXISTS');
        assert.equal((await store.setMember(p, carol, 4, SYSTEM_ACTOR)).roleId, 4);
        await rejectsWith(store.setMember(p, carol, 9, SYSTEM_ACTOR), 'INVALID');
        await store.removeMember(p, carol.id, SYSTEM_ACTOR);
        await rejectsWith(store.removeMember(p, carol.id, SYSTEM_ACTOR), 'NOT_FOUND');
        assert.deepEqual(await store.members(p.id), []);
      });
    });

    test('robots: principals with ids of their own, unique names, secret rotation keeps the previous hash for its grace', async () => {
      await withStore(async (store) => {
        const userId = await store.principalId('user', 'ci');
        const robot = await store.createRobot(
          { name: 'ci', projectId: 0, description: 'd', secretHash: 'h1', permissions: [{ kind: 'system', namespace: '/', access: [{ resource: 'project', action: 'list' }] }], duration: 30, expiresAt: 5, disabled: false, creatorId: userId },
          undefined,
          SYSTEM_ACTOR,
        );
        assert.notEqual(robot.id, userId, 'a robot and a user of the same name are different principals');
        assert.equal(await store.principalId('robot', 'ci'), robot.id);
        await rejectsWith(
          store.createRobot({ name: 'ci', projectId: 0, description: '', secretHash: 'h', permissions: [], duration: -1, expiresAt: -1, disabled: false, creatorId: null }, undefined, SYSTEM_ACTOR),
          'ALREADY_EXISTS',
        );
        const until = Date.now() + 60_000;
        await store.replaceSecret(robot.id, 'h2', until, undefined, SYSTEM_ACTOR);
        const rotated = await store.robot(robot.id);
        assert.deepEqual([rotated?.secretHash, rotated?.previousSecretHash, rotated?.previousSecretUntil], ['h2', 'h1', until]);
        await store.replaceSecret(robot.id, 'h3', undefined, undefined, SYSTEM_ACTOR);
        const again = await store.robot('ci');
        assert.deepEqual([again?.secretHash, again?.previousSecretHash], ['h3', null]);
        const disabled = await store.updateRobot(robot.id, { disabled: true, description: 'off' }, undefined, SYSTEM_ACTOR);
        assert.deepEqual([disabled.disabled, disabled.description, disabled.duration], [true, 'off', 30]);
        await store.recordRobotUse('ci', '192.0.2.7');
        const used = await store.robot(robot.id);
        assert.equal(used?.lastUsedFrom, '192.0.2.7');
        assert.ok((used?.lastUsedAt ?? 0) > 0);
        await store.deleteRobot(robot.id, undefined, SYSTEM_ACTOR);
        assert.equal(await store.robot(robot.id), undefined);
        await rejectsWith(store.deleteRobot(robot.id, undefined, SYSTEM_ACTOR), 'NOT_FOUND');
      });
    });

    test('the snapshot shows system admins from the users table', async () => {
      await withStore(async (store, db) => {
        await db.insertInto('users').values({ name: 'root', password_hash: 'x', created_at: 1 }).execute();
        await db.insertInto('principals').values({ kind: 'user', name: 'root', created_at: 1 }).execute();
        await store.setSysadmin('root', true, SYSTEM_ACTOR);
        const snap = await store.snapshot();
        assert.deepEqual(snap.users.filter((u) => u.sysadmin).map((u) => u.name), ['root']);
        await rejectsWith(store.setSysadmin('nobody', true, SYSTEM_ACTOR), 'NOT_FOUND');
      });
    });
  });
}
