// The MetadataStore contract (src/metadata/metadata-store.ts) as one suite, registered against any
// implementation by metadata-store.test.ts: every method, what a transaction makes visible and
// when, and many callers at once. `open` must give a fresh, empty store each time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { RegistryEvent, StoredEvent } from '../../src/events/events.js';
import type { ManifestRecord, MetadataStore, MetadataTx, UsageRecount } from '../../src/metadata/metadata-store.js';
import type { Database } from '../../src/metadata/schema.js';
import { sha256 } from '../helpers/oci.js';

export interface MetadataStoreImplementation {
  name: string;
  open(): Promise<MetadataStore>;
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const actor = { kind: 'user', id: 1, name: 'alice' } as const;

function manifest(seed: string, extra: Partial<Omit<ManifestRecord, 'digest' | 'content' | 'size'>> = {}): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, seed }));
  return { digest: sha256(content), mediaType: MANIFEST_TYPE, artifactType: null, subject: null, annotations: null, size: content.length, content, ...extra };
}

const blob = (seed: string) => sha256(`blob ${seed}`);

function tagUpdated(repository: string, tag: string, digest: string, previous?: string): RegistryEvent {
  return { type: 'tag.updated', at: new Date().toISOString(), actor, repository, tag, digest, ...(previous ? { previous } : {}) };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The store's own database, to make projects and to damage the counted sets (both stores expose it as `db`). */
function kysely(store: MetadataStore): Kysely<Database> {
  const db = (store as unknown as { db?: Kysely<Database> }).db;
  assert.ok(db, 'the store exposes its Kysely instance as db');
  return db;
}

async function addProject(store: MetadataStore, name: string, limit = -1): Promise<number> {
  const row = await kysely(store)
    .insertInto('projects')
    .values({ name, storage_limit: limit, created_at: Date.now(), updated_at: Date.now() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

const used = async (store: MetadataStore, project: string) => (await store.projectQuota(project)).used;

/** A recount that found nothing to fix: the kept usage was what the references give. */
function assertNoDrift(r: UsageRecount, context = ''): void {
  assert.deepEqual(
    { drift: r.after - r.before, blobsFixed: r.blobsFixed, manifestsFixed: r.manifestsFixed, linksFixed: r.linksFixed },
    { drift: 0, blobsFixed: 0, manifestsFixed: 0, linksFixed: 0 },
    `${r.project}: ${context}`,
  );
}

/** A deterministic pseudo-random sequence (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Events as read back, without their ids (compared with what was appended). */
const withoutIds = (events: StoredEvent[]) => events.map(({ id: _id, ...rest }) => rest);

export function metadataStoreConformance(impl: MetadataStoreImplementation): void {
  const withStore = async (fn: (store: MetadataStore) => Promise<void>) => {
    const store = await impl.open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const test = (name: string, fn: (store: MetadataStore) => Promise<void>) => it(name, () => withStore(fn));

  describe(`MetadataStore conformance: ${impl.name}`, () => {
    describe('blobs', () => {
      test('linkBlob makes the repository and the blob; it is idempotent; unlinkBlob removes only that link', async (store) => {
        assert.equal(await store.repositoryExists('team/app'), false);
        await store.transaction((tx) => tx.linkBlob('team/app', blob('a'), 42));
        await store.transaction((tx) => tx.linkBlob('team/app', blob('a'), 42));
        await store.transaction((tx) => tx.linkBlob('team/other', blob('a'), 42));
        assert.equal(await store.repositoryExists('team/app'), true);
        assert.equal(await store.repositoryBlobSize('team/app', blob('a')), 42);
        assert.equal(await store.repositoryBlobSize('team/app', blob('b')), undefined);
        assert.equal(await store.repositoryBlobSize('nobody/here', blob('a')), undefined);

        assert.equal(await store.transaction((tx) => tx.unlinkBlob('team/app', blob('a'))), true);
        assert.equal(await store.transaction((tx) => tx.unlinkBlob('team/app', blob('a'))), false);
        assert.equal(await store.transaction((tx) => tx.unlinkBlob('nobody/here', blob('a'))), false);
        assert.equal(await store.repositoryBlobSize('team/app', blob('a')), undefined);
        assert.equal(await store.repositoryBlobSize('team/other', blob('a')), 42, 'the other repository keeps its link');
        assert.equal(await store.repositoryExists('team/app'), true, 'a repository that held a blob still exists');
      });

      test('repositoriesWithBlob lists the holders oldest link first, at most limit', async (store) => {
        for (const repository of ['r/two', 'r/one', 'r/three']) {
          await store.transaction((tx) => tx.linkBlob(repository, blob('shared'), 7));
          await sleep(3); // distinct link times
        }
        assert.deepEqual(await store.repositoriesWithBlob(blob('shared'), 10), ['r/two', 'r/one', 'r/three']);
        assert.deepEqual(await store.repositoriesWithBlob(blob('shared'), 2), ['r/two', 'r/one']);
        assert.deepEqual(await store.repositoriesWithBlob(blob('none'), 10), []);
      });

      test('blobSizes answers for the repository own blobs only, duplicates and unknown digests ignored', async (store) => {
        await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('a'), 1);
          await tx.linkBlob('team/app', blob('b'), 2);
          await tx.linkBlob('team/other', blob('c'), 3);
        });
        const sizes = await store.blobSizes('team/app', [blob('a'), blob('b'), blob('c'), blob('zzz'), blob('a')]);
        assert.deepEqual([...sizes.entries()].sort(), [
          [blob('a'), 1],
          [blob('b'), 2],
        ].sort());
        assert.equal((await store.blobSizes('team/app', [])).size, 0);
        assert.equal((await store.blobSizes('nobody/here', [blob('a')])).size, 0);
        // Many digests in one call (a manifest with thousands of layers).
        const many = Array.from({ length: 3000 }, (_, i) => blob(`many-${i}`));
        assert.deepEqual([...(await store.blobSizes('team/app', [...many, blob('b')])).keys()], [blob('b')]);
      });
    });

    describe('manifests and tags', () => {
      test('putManifest stores the record whole and is idempotent; manifestSizes sees it', async (store) => {
        const m = manifest('one', { artifactType: 'application/vnd.example', subject: sha256('subject'), annotations: { 'org.example': 'yes' } });
        const plain = manifest('plain');
        await store.transaction((tx) => tx.putManifest('team/app', m, [blob('a'), blob('b'), blob('a')]));
        await store.transaction((tx) => tx.putManifest('team/app', m, [blob('b'), blob('a')]));
        await store.transaction((tx) => tx.putManifest('team/app', plain, []));
        assert.deepEqual(await store.getManifest('team/app', m.digest), m);
        assert.deepEqual(await store.getManifest('team/app', plain.digest), plain);
        assert.equal(await store.getManifest('team/other', m.digest), undefined);
        assert.equal(await store.getManifest('team/app', sha256('absent')), undefined);
        assert.equal(await store.repositoryExists('team/app'), true);
        const sizes = await store.manifestSizes('team/app', [m.digest, plain.digest, sha256('absent'), blob('a')]);
        assert.deepEqual([...sizes.entries()].sort(), [
          [m.digest, m.size],
          [plain.digest, plain.size],
        ].sort());
        assert.equal((await store.manifestSizes('nobody/here', [m.digest])).size, 0);
        assert.deepEqual(await store.listTags('team/app', undefined, 10), [], 'no tag without one');
      });

      test('a tag points at the manifest last put with it; the old manifest stays', async (store) => {
        const m1 = manifest('1');
        const m2 = manifest('2');
        await store.transaction((tx) => tx.putManifest('team/app', m1, [], 'latest'));
        assert.equal(await store.resolveTag('team/app', 'latest'), m1.digest);
        await store.transaction((tx) => tx.putManifest('team/app', m2, [], 'latest'));
        assert.equal(await store.resolveTag('team/app', 'latest'), m2.digest);
        assert.deepEqual(await store.getManifest('team/app', m1.digest), m1);
        assert.equal(await store.resolveTag('team/app', 'other'), undefined);
        assert.equal(await store.resolveTag('nobody/here', 'latest'), undefined);
        assert.deepEqual(await store.listTags('team/app', undefined, 10), ['latest']);
      });

      test('resolveTag inside a transaction sees its own move; outside, the committed digest until commit', async (store) => {
        const m1 = manifest('1');
        const m2 = manifest('2');
        await store.transaction((tx) => tx.putManifest('team/app', m1, [], 'latest'));
        const moved = deferred();
        const release = deferred();
        const done = store.transaction(async (tx) => {
          assert.equal(await tx.resolveTag('team/app', 'latest'), m1.digest);
          await tx.putManifest('team/app', m2, [], 'latest');
          assert.equal(await tx.resolveTag('team/app', 'latest'), m2.digest);
          moved.resolve();
          await release.promise;
        });
        await moved.promise;
        assert.equal(await store.resolveTag('team/app', 'latest'), m1.digest, 'not visible before commit');
        assert.equal(await store.getManifest('team/app', m2.digest), undefined);
        release.resolve();
        await done;
        assert.equal(await store.resolveTag('team/app', 'latest'), m2.digest);
      });

      test('deleteManifest removes it with every tag pointing at it and returns those tags', async (store) => {
        const m1 = manifest('1');
        const m2 = manifest('2');
        await store.transaction(async (tx) => {
          await tx.putManifest('team/app', m1, [blob('a')], 'b-tag');
          await tx.putManifest('team/app', m1, [blob('a')], 'a-tag');
          await tx.putManifest('team/app', m2, [], 'keep');
        });
        const gone = await store.transaction((tx) => tx.deleteManifest('team/app', m1.digest));
        assert.deepEqual({ deleted: gone.deleted, tags: [...gone.tags].sort() }, { deleted: true, tags: ['a-tag', 'b-tag'] });
        assert.equal(await store.getManifest('team/app', m1.digest), undefined);
        assert.equal(await store.resolveTag('team/app', 'a-tag'), undefined);
        assert.equal(await store.resolveTag('team/app', 'keep'), m2.digest);
        assert.deepEqual(await store.listTags('team/app', undefined, 10), ['keep']);
        assert.equal((await store.manifestSizes('team/app', [m1.digest])).size, 0);
        assert.deepEqual(await store.transaction((tx) => tx.deleteManifest('team/app', m1.digest)), { deleted: false, tags: [] });
        assert.deepEqual(await store.transaction((tx) => tx.deleteManifest('nobody/here', m1.digest)), { deleted: false, tags: [] });
        // Put again after the delete: stored afresh.
        await store.transaction((tx) => tx.putManifest('team/app', m1, [blob('a')], 'again'));
        assert.deepEqual(await store.getManifest('team/app', m1.digest), m1);
      });

      test('deleteTag returns the digest it pointed at and leaves the manifest', async (store) => {
        const m = manifest('1');
        await store.transaction((tx) => tx.putManifest('team/app', m, [], 'v1'));
        assert.equal(await store.transaction((tx) => tx.deleteTag('team/app', 'v1')), m.digest);
        assert.equal(await store.transaction((tx) => tx.deleteTag('team/app', 'v1')), undefined);
        assert.equal(await store.transaction((tx) => tx.deleteTag('nobody/here', 'v1')), undefined);
        assert.equal(await store.resolveTag('team/app', 'v1'), undefined);
        assert.deepEqual(await store.getManifest('team/app', m.digest), m);
      });

      test('listTags pages through the tags in byte order', async (store) => {
        // Locale collations order these differently ("_" first, "a" before "B"); byte order is the spec's.
        const tags = ['latest', 'Latest', 'v1.0', 'v1.0-rc', 'v1_0', 'v1.10', 'v1.9', '_x', '0', 'A', 'a', 'Z', 'z', 'B', 'b-c', 'b.c', 'b_c', 'bc'];
        const m = manifest('1');
        await store.transaction(async (tx) => {
          for (const tag of tags) await tx.putManifest('team/app', m, [], tag);
        });
        await store.transaction((tx) => tx.putManifest('team/other', m, [], 'other-only'));
        const expected = [...tags].sort(); // JavaScript's order is byte order for ASCII
        assert.deepEqual(await store.listTags('team/app', undefined, 100), expected);
        const pages: string[][] = [];
        let last: string | undefined;
        for (;;) {
          const page = await store.listTags('team/app', last, 4);
          if (page.length === 0) break;
          assert.ok(page.length <= 4);
          pages.push(page);
          last = page[page.length - 1];
        }
        assert.deepEqual(pages.flat(), expected);
        assert.equal(pages.length, Math.ceil(expected.length / 4));
        assert.deepEqual(await store.listTags('team/app', 'b', 3), expected.filter((t) => t > 'b').slice(0, 3), 'a `last` that is no tag');
        assert.deepEqual(await store.listTags('team/app', 'zz', 3), []);
        assert.deepEqual(await store.listTags('nobody/here', undefined, 3), []);
      });

      test('listRepositories pages through the names in byte order', async (store) => {
        const names = ['a', 'a-b', 'a.b', 'a/b', 'a_b', 'a0', 'ab', 'b/c/d', 'b__c', 'z'];
        for (const name of names) await store.transaction((tx) => tx.linkBlob(name, blob('x'), 1));
        await store.transaction((tx) => tx.putManifest('m/only', manifest('1'), []));
        const expected = [...names, 'm/only'].sort();
        assert.deepEqual(await store.listRepositories(undefined, 100), expected);
        const seen: string[] = [];
        let last: string | undefined;
        for (let page = await store.listRepositories(last, 3); page.length > 0; page = await store.listRepositories(last, 3)) {
          seen.push(...page);
          last = page[page.length - 1];
        }
        assert.deepEqual(seen, expected);
        assert.deepEqual(await store.listRepositories('a/', 2), expected.filter((n) => n > 'a/').slice(0, 2));
      });

      test('listReferrers gives the manifests of a subject oldest first, optionally of one artifactType', async (store) => {
        const subject = manifest('subject');
        const sig = manifest('sig', { subject: subject.digest, artifactType: 'application/vnd.example.sig', annotations: { 'org.example.signer': 'alice' } });
        const sbom = manifest('sbom', { subject: subject.digest, artifactType: 'application/vnd.example.sbom' });
        const bare = manifest('bare', { subject: subject.digest });
        await store.transaction((tx) => tx.putManifest('team/app', subject, []));
        for (const m of [sig, sbom, bare]) {
          await store.transaction((tx) => tx.putManifest('team/app', m, []));
          await sleep(3); // distinct creation times
        }
        await store.transaction((tx) => tx.putManifest('team/other', manifest('elsewhere', { subject: subject.digest, artifactType: 'application/vnd.example.sig' }), []));
        assert.deepEqual(await store.listReferrers('team/app', subject.digest), [
          { mediaType: MANIFEST_TYPE, digest: sig.digest, size: sig.size, artifactType: 'application/vnd.example.sig', annotations: { 'org.example.signer': 'alice' } },
          { mediaType: MANIFEST_TYPE, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom' },
          { mediaType: MANIFEST_TYPE, digest: bare.digest, size: bare.size },
        ]);
        assert.deepEqual(
          (await store.listReferrers('team/app', subject.digest, 'application/vnd.example.sig')).map((d) => d.digest),
          [sig.digest],
        );
        assert.deepEqual(await store.listReferrers('team/app', subject.digest, 'application/none'), []);
        assert.deepEqual(await store.listReferrers('team/app', sig.digest), []);
        assert.deepEqual(await store.listReferrers('nobody/here', subject.digest), []);
      });
    });

    describe('uploads', () => {
      test('createUpload records it; getUpload reads it back; deleteUpload is idempotent', async (store) => {
        const createdAt = Date.now() - 1000;
        await store.createUpload({ id: 'u-1', repository: 'team/app', createdAt, state: { id: 'u-1', offset: 0 } });
        const { durable: _, ...read } = (await store.getUpload('u-1'))!; // durable: whether a store keeps it in memory until its first bytes
        assert.deepEqual(read, { id: 'u-1', repository: 'team/app', createdAt, updatedAt: createdAt, state: { id: 'u-1', offset: 0 } });
        assert.equal(await store.getUpload('u-2'), undefined);
        await store.transaction((tx) => tx.deleteUpload('u-1'));
        await store.transaction((tx) => tx.deleteUpload('u-1'));
        assert.equal(await store.getUpload('u-1'), undefined);
      });

      test('updateUpload is a compare-and-set on the offset, and keeps the driver state whole', async (store) => {
        const createdAt = Date.now() - 1000;
        await store.createUpload({ id: 'u-1', repository: 'team/app', createdAt, state: { id: 'u-1', offset: 0 } });
        const state = { id: 'u-1', offset: 5_000_000, driver: { uploadId: 'mp-1', parts: [{ number: 1, etag: '"abc"' }], hash: 'AAEC/w==' } };
        const before = Date.now();
        assert.equal(await store.transaction((tx) => tx.updateUpload('u-1', state, 0)), true);
        const read = await store.getUpload('u-1');
        assert.deepEqual(read?.state, state);
        assert.equal(read!.durable, true, 'an upload with bytes survives a restart');
        assert.ok(read!.updatedAt >= before, 'an append moves updatedAt');
        assert.equal(read!.createdAt, createdAt);
        assert.equal(await store.transaction((tx) => tx.updateUpload('u-1', { id: 'u-1', offset: 99 }, 0)), false, 'a stale offset loses');
        assert.deepEqual((await store.getUpload('u-1'))?.state, state);
        assert.equal(await store.transaction((tx) => tx.updateUpload('u-1', { id: 'u-1', offset: 6_000_000 }, 5_000_000)), true);
        assert.equal(await store.transaction((tx) => tx.updateUpload('u-gone', { id: 'u-gone', offset: 1 }, 0)), false);
      });

      test('uploadsIdleSince lists uploads without activity since the time', async (store) => {
        const now = Date.now();
        await store.createUpload({ id: 'u-old', repository: 'team/app', createdAt: now - 60_000, state: { id: 'u-old', offset: 0 } });
        await store.createUpload({ id: 'u-new', repository: 'team/app', createdAt: now, state: { id: 'u-new', offset: 0 } });
        assert.deepEqual((await store.uploadsIdleSince(now - 30_000)).map((u) => u.id), ['u-old']);
        assert.equal((await store.uploadsIdleSince(now - 30_000))[0]?.repository, 'team/app');
        await store.transaction((tx) => tx.updateUpload('u-old', { id: 'u-old', offset: 10 }, 0));
        assert.deepEqual(await store.uploadsIdleSince(now - 30_000), [], 'an append is activity');
      });

      test('an append in a transaction is visible to others only after commit', async (store) => {
        await store.createUpload({ id: 'u-1', repository: 'team/app', createdAt: Date.now(), state: { id: 'u-1', offset: 0 } });
        const appended = deferred();
        const release = deferred();
        const done = store.transaction(async (tx) => {
          assert.equal(await tx.updateUpload('u-1', { id: 'u-1', offset: 10 }, 0), true);
          appended.resolve();
          await release.promise;
        });
        await appended.promise;
        assert.equal((await store.getUpload('u-1'))?.state.offset, 0);
        release.resolve();
        await done;
        assert.equal((await store.getUpload('u-1'))?.state.offset, 10);
      });
    });

    describe('principals', () => {
      test('a principal keeps its id across calls; ids are unique per kind and name', async (store) => {
        const alice = await store.principal('user', 'alice');
        assert.ok(Number.isInteger(alice.id) && alice.id > 0);
        assert.deepEqual(await store.principal('user', 'alice'), alice);
        assert.equal(alice.kind, 'user');
        assert.equal(alice.name, 'alice');
        assert.ok(Math.abs(alice.createdAt - Date.now()) < 60_000);
        const robot = await store.principal('robot', 'alice');
        const bob = await store.principal('user', 'bob');
        assert.equal(new Set([alice.id, robot.id, bob.id]).size, 3);
        assert.equal(robot.kind, 'robot');
        assert.equal((await store.principal('robot', 'alice')).id, robot.id);
      });

      test('callers that meet a new name at once all get the same id', async (store) => {
        const ids = await Promise.all(Array.from({ length: 12 }, () => store.principal('user', 'carol')));
        assert.equal(new Set(ids.map((p) => p.id)).size, 1);
      });
    });

    describe('events', () => {
      test('appended events become visible when the transaction commits, in order, with the whole event', async (store) => {
        assert.equal(await store.lastEventId(), 0);
        assert.deepEqual(await store.eventsAfter(0, 10), []);
        const events: RegistryEvent[] = [
          { type: 'blob.pushed', at: new Date().toISOString(), actor, repository: 'team/app', digest: blob('a'), size: 3 },
          { type: 'manifest.pushed', at: new Date().toISOString(), actor, repository: 'team/app', digest: manifest('1').digest, mediaType: MANIFEST_TYPE, size: 10, tag: 'v1' },
          { type: 'auth.login', at: new Date().toISOString(), actor: { kind: 'anonymous', address: '192.0.2.1' }, user: 'mallory', ok: false, reason: 'bad password' },
        ];
        const appended = deferred();
        const release = deferred();
        const done = store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('a'), 3);
          await tx.appendEvents(events.slice(0, 2));
          await tx.appendEvents(events.slice(2));
          appended.resolve();
          await release.promise;
        });
        await appended.promise;
        assert.deepEqual(await store.eventsAfter(0, 10), [], 'nothing before commit');
        assert.equal(await store.lastEventId(), 0);
        release.resolve();
        await done;
        const stored = await store.eventsAfter(0, 10);
        assert.deepEqual(withoutIds(stored), events);
        assert.ok(stored.every((e, i) => Number.isInteger(e.id) && (i === 0 || e.id > stored[i - 1]!.id)), 'ids ascend');
        assert.equal(await store.lastEventId(), stored[2]!.id);
      });

      test('a rolled-back transaction leaves no event', async (store) => {
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.appendEvents([tagUpdated('team/app', 'v1', manifest('1').digest)]);
            throw new Error('policy said no');
          }),
          /policy said no/,
        );
        assert.deepEqual(await store.eventsAfter(0, 10), []);
        assert.equal(await store.lastEventId(), 0);
      });

      test('eventsAfter pages in id order; lastEventId is where a reader of new events starts', async (store) => {
        const batches = [['a', 'b'], ['c'], ['d', 'e', 'f']].map((tags) => tags.map((t) => tagUpdated('team/app', t, manifest(t).digest)));
        for (const batch of batches) await store.transaction((tx) => tx.appendEvents(batch));
        const all = await store.eventsAfter(0, 100);
        assert.deepEqual(withoutIds(all), batches.flat());
        const paged: StoredEvent[] = [];
        for (let after = 0, page = await store.eventsAfter(after, 2); page.length > 0; page = await store.eventsAfter(after, 2)) {
          assert.ok(page.length <= 2);
          paged.push(...page);
          after = page[page.length - 1]!.id;
        }
        assert.deepEqual(paged, all);
        const start = await store.lastEventId();
        assert.equal(start, all[all.length - 1]!.id);
        assert.deepEqual(await store.eventsAfter(start, 10), []);
        await store.transaction((tx) => tx.appendEvents([tagUpdated('team/app', 'g', manifest('g').digest)]));
        assert.deepEqual(
          (await store.eventsAfter(start, 10)).map((e) => (e as { tag: string }).tag),
          ['g'],
        );
      });

      test('a reader that follows its cursor misses no event of a transaction that committed late', async (store) => {
        // The first transaction appends, then waits while a second one appends and commits and a
        // reader moves its cursor past what it saw. Ids that were drawn in append order but
        // committed out of it would leave the first event behind the cursor.
        const appended = deferred();
        const release = deferred();
        const first = store.transaction(async (tx) => {
          await tx.appendEvents([tagUpdated('team/app', 'first', manifest('1').digest)]);
          appended.resolve();
          await release.promise;
        });
        await appended.promise;
        const second = store.transaction((tx) => tx.appendEvents([tagUpdated('team/app', 'second', manifest('2').digest)]));
        // A store may make the second commit wait for the first; then the reader sees nothing yet.
        await Promise.race([second, sleep(300)]);
        const seen = await store.eventsAfter(0, 10);
        const cursor = seen.at(-1)?.id ?? 0;
        release.resolve();
        await Promise.all([first, second]);
        const rest = await store.eventsAfter(cursor, 10);
        assert.deepEqual([...seen, ...rest].map((e) => (e as { tag: string }).tag).sort(), ['first', 'second']);
      });

      test('readers following their cursors while many writers commit see every event once', async (store) => {
        const writers = 6;
        const perWriter = 25;
        let writing = true;
        const read: StoredEvent[] = [];
        const reader = (async () => {
          let cursor = 0;
          while (writing || (await store.eventsAfter(cursor, 1)).length > 0) {
            const page = await store.eventsAfter(cursor, 50);
            read.push(...page);
            cursor = page.at(-1)?.id ?? cursor;
            if (page.length === 0) await sleep(1);
          }
        })();
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++) {
              await store.transaction(async (tx) => {
                await tx.linkBlob(`team/w${w}`, blob(`${w}-${i}`), i + 1);
                await tx.appendEvents([{ type: 'blob.pushed', at: new Date().toISOString(), actor, repository: `team/w${w}`, digest: blob(`${w}-${i}`), size: i + 1 }]);
              });
            }
          }),
        );
        writing = false;
        await reader;
        const all = await store.eventsAfter(0, writers * perWriter + 1);
        assert.equal(all.length, writers * perWriter);
        assert.deepEqual(
          read.map((e) => e.id),
          all.map((e) => e.id),
          'the reader saw every committed event, in id order, none twice',
        );
      });

      test("a sink's cursor is unset until saved, then the last value saved, per sink", async (store) => {
        assert.equal(await store.eventCursor('event-log'), undefined);
        await store.saveEventCursor('event-log', 0);
        assert.equal(await store.eventCursor('event-log'), 0);
        await store.saveEventCursor('event-log', 42);
        await store.saveEventCursor('webhooks', 7);
        assert.equal(await store.eventCursor('event-log'), 42);
        assert.equal(await store.eventCursor('webhooks'), 7);
        await store.saveEventCursor('event-log', 2 ** 40); // ids outgrow 32 bits
        assert.equal(await store.eventCursor('event-log'), 2 ** 40);
      });

      test('pruneEvents removes the events older than the time and counts them', async (store) => {
        const old = ['a', 'b', 'c'].map((t) => tagUpdated('team/app', t, manifest(t).digest));
        await store.transaction((tx) => tx.appendEvents(old));
        await sleep(5);
        const cutoff = Date.now();
        await sleep(5);
        const recent = [tagUpdated('team/app', 'd', manifest('d').digest)];
        await store.transaction((tx) => tx.appendEvents(recent));
        const last = await store.lastEventId();
        assert.equal(await store.pruneEvents(cutoff), 3);
        assert.deepEqual(withoutIds(await store.eventsAfter(0, 10)), recent);
        assert.equal(await store.lastEventId(), last);
        assert.equal(await store.pruneEvents(cutoff), 0);
      });
    });

    describe('transactions', () => {
      test('a transaction returns what fn returns; one that throws leaves nothing and rethrows the same error', async (store) => {
        assert.equal(await store.transaction(async () => 42), 42);
        const boom = new Error('boom');
        await store.createUpload({ id: 'u-1', repository: 'team/app', createdAt: Date.now(), state: { id: 'u-1', offset: 0 } });
        await store.createUpload({ id: 'u-2', repository: 'team/app', createdAt: Date.now(), state: { id: 'u-2', offset: 0 } });
        await store.transaction((tx) => tx.updateUpload('u-2', { id: 'u-2', offset: 5 }, 0));
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.linkBlob('team/app', blob('a'), 1);
            await tx.putManifest('team/app', manifest('1'), [blob('a')], 'v1');
            await tx.updateUpload('u-1', { id: 'u-1', offset: 7 }, 0);
            await tx.deleteUpload('u-2');
            await tx.appendEvents([tagUpdated('team/app', 'v1', manifest('1').digest)]);
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.equal(await store.repositoryExists('team/app'), false);
        assert.equal(await store.repositoryBlobSize('team/app', blob('a')), undefined);
        assert.equal(await store.getManifest('team/app', manifest('1').digest), undefined);
        assert.equal(await store.resolveTag('team/app', 'v1'), undefined);
        assert.equal((await store.getUpload('u-1'))?.state.offset, 0);
        assert.equal((await store.getUpload('u-2'))?.state.offset, 5, 'a deleted upload is back');
        assert.deepEqual(await store.listRepositories(undefined, 10), []);
        assert.deepEqual(await store.eventsAfter(0, 10), []);
        // A rollback of changes to existing rows restores them.
        await store.transaction((tx) => tx.putManifest('team/app', manifest('1'), [], 'v1'));
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.deleteManifest('team/app', manifest('1').digest);
            await tx.putManifest('team/app', manifest('2'), [], 'v2');
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.equal(await store.resolveTag('team/app', 'v1'), manifest('1').digest);
        assert.equal(await store.resolveTag('team/app', 'v2'), undefined);
      });

      test('concurrent moves of one tag by many callers form one history, and the outbox has it in commit order', async (store) => {
        const n = 24;
        const pushed = Array.from({ length: n }, (_, i) => manifest(`m${i}`));
        const previous = await Promise.all(
          pushed.map((m, i) =>
            store.transaction(async (tx) => {
              await tx.linkBlob('team/app', blob(`layer-${i}`), i + 1);
              const before = await tx.resolveTag('team/app', 'latest');
              await tx.putManifest('team/app', m, [blob(`layer-${i}`)], 'latest');
              await tx.appendEvents([tagUpdated('team/app', 'latest', m.digest, before)]);
              return before;
            }),
          ),
        );
        // No lost update: every blob linked, and every move replaced exactly the one before it.
        const sizes = await store.blobSizes('team/app', pushed.map((_, i) => blob(`layer-${i}`)));
        assert.equal(sizes.size, n);
        assert.equal(previous.filter((p) => p === undefined).length, 1, 'exactly one move found no tag');
        const replaced = previous.filter((p): p is string => p !== undefined);
        assert.equal(new Set(replaced).size, n - 1, 'no two moves replaced the same digest');
        const events = (await store.eventsAfter(0, 100)) as Array<StoredEvent & { digest: string; previous?: string }>;
        assert.equal(events.length, n);
        events.forEach((e, i) => assert.equal(e.previous, i === 0 ? undefined : events[i - 1]!.digest, `event ${i} follows event ${i - 1}`));
        assert.equal(await store.resolveTag('team/app', 'latest'), events[n - 1]!.digest);
      });

      test('many callers storing the same blobs and manifest at once all succeed (no deadlock)', async (store) => {
        // What concurrent pushes of one image do: each transaction commits one layer that others
        // commit at the same moment, or stores the one manifest (references in any order) under its tag.
        const layers = Array.from({ length: 4 }, (_, i) => blob(`shared-${i}`));
        const shared = manifest('shared');
        const rotated = (i: number) => [...layers.slice(i % layers.length), ...layers.slice(0, i % layers.length)];
        await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            store.transaction(async (tx) => {
              const repository = `team/r${i % 3}`;
              await tx.linkBlob(repository, layers[i % layers.length]!, 100);
              if (i % 2 === 0) await tx.putManifest(repository, shared, rotated(i), i % 4 === 0 ? 'latest' : `t${i}`);
            }),
          ),
        );
        for (const r of ['team/r0', 'team/r1', 'team/r2']) {
          assert.equal((await store.blobSizes(r, layers)).size, layers.length);
          assert.deepEqual(await store.getManifest(r, shared.digest), shared);
          assert.equal(await store.resolveTag(r, 'latest'), shared.digest);
        }
        for (let i = 2; i < 24; i += 4) assert.equal(await store.resolveTag(`team/r${i % 3}`, `t${i}`), shared.digest);
      });

      test('of concurrent appends at the same offset exactly one wins', async (store) => {
        await store.createUpload({ id: 'u-1', repository: 'team/app', createdAt: Date.now(), state: { id: 'u-1', offset: 0 } });
        const won = await Promise.all(Array.from({ length: 12 }, (_, i) => store.transaction((tx) => tx.updateUpload('u-1', { id: 'u-1', offset: 1000 + i }, 0))));
        assert.equal(won.filter(Boolean).length, 1);
        assert.equal((await store.getUpload('u-1'))?.state.offset, 1000 + won.indexOf(true));
      });
    });

    describe('project usage', () => {
      test('a blob counts once per project, in every project that holds it, until its last link goes', async (store) => {
        await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('a'), 100);
          await tx.linkBlob('team/web', blob('a'), 100);
          await tx.linkBlob('team', blob('b'), 7); // the repository named like its project is in it
          await tx.linkBlob('other/app', blob('a'), 100);
        });
        assert.equal(await used(store, 'team'), 107);
        assert.equal(await used(store, 'other'), 100);
        assert.equal(await used(store, 'teamx'), 0, 'a project named with the same prefix holds nothing');
        assert.deepEqual(await store.projectQuota('team'), { project: 'team', projectId: undefined, limit: -1, used: 107 });
        await store.transaction((tx) => tx.unlinkBlob('team/app', blob('a')));
        assert.equal(await used(store, 'team'), 107, 'team/web still holds it');
        await store.transaction((tx) => tx.unlinkBlob('team/web', blob('a')));
        assert.equal(await used(store, 'team'), 7);
        assert.equal(await used(store, 'other'), 100);
        await store.transaction((tx) => tx.linkBlob('team/web', blob('a'), 100));
        await store.transaction((tx) => tx.linkBlob('team/web', blob('a'), 100));
        assert.equal(await used(store, 'team'), 107, 'linking again is idempotent');
        for (const project of ['team', 'other']) assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage(project)));
      });

      test('a manifest counts once per project; its delete releases the blobs only it referenced, and a put holds them again', async (store) => {
        const m1 = manifest('m1');
        const m2 = manifest('m2');
        const [config, layer1, layer2] = [blob('config'), blob('layer1'), blob('layer2')];
        await store.transaction(async (tx) => {
          for (const repository of ['team/app', 'team/web']) {
            await tx.linkBlob(repository, config, 10);
            await tx.linkBlob(repository, layer1, 100);
          }
          await tx.linkBlob('team/app', layer2, 200);
          await tx.putManifest('team/app', m1, [config, layer1], 'v1');
          await tx.putManifest('team/app', m2, [config, layer2], 'v2');
          await tx.putManifest('team/web', m1, [config, layer1], 'v1');
        });
        const all = 10 + 100 + 200 + m1.size + m2.size;
        assert.equal(await used(store, 'team'), all, 'm1 twice in the project counts once, like its blobs');
        await store.transaction((tx) => tx.putManifest('team/app', m1, [config, layer1], 'retag'));
        assert.equal(await used(store, 'team'), all, 'a retag costs nothing');

        await store.transaction((tx) => tx.deleteManifest('team/app', m1.digest));
        assert.equal(await used(store, 'team'), all, 'team/web still holds m1 and layer1; m2 still references config');
        assert.equal(await store.repositoryBlobSize('team/app', layer1), undefined, 'released: no longer served');
        assert.equal(await store.repositoryBlobSize('team/app', config), 10, 'still referenced by m2');
        assert.deepEqual([...(await store.blobSizes('team/app', [layer1]))], [[layer1, 100]], 'a manifest may reference it again');
        assert.deepEqual(await store.repositoriesWithBlob(layer1, 10), ['team/web'], 'nor mounted from');

        await store.transaction((tx) => tx.deleteManifest('team/web', m1.digest));
        assert.equal(await used(store, 'team'), all - 100 - m1.size, 'layer1 and m1 are held by nothing in the project');
        assert.equal(await store.repositoryBlobSize('team/web', config), undefined);
        assert.equal(await store.repositoryBlobSize('team/app', config), 10);

        await store.transaction((tx) => tx.putManifest('team/app', m1, [config, layer1], 'again'));
        assert.equal(await used(store, 'team'), all, 'putting m1 again holds layer1 again');
        assert.equal(await store.repositoryBlobSize('team/app', layer1), 100);

        // A blob DELETE of a released link still succeeds and changes no usage.
        assert.equal(await store.transaction((tx) => tx.unlinkBlob('team/web', layer1)), true);
        assert.equal(await store.transaction((tx) => tx.unlinkBlob('team/web', layer1)), false);
        assert.equal(await used(store, 'team'), all);
        assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage('team')));
      });

      test('unheldBytes is what storing content would add: blobs and a manifest the project does not hold', async (store) => {
        const m = manifest('m');
        await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('held'), 50);
          await tx.putManifest('team/app', m, [blob('held')]);
        });
        const content = (digests: string[], withManifest = false) => ({
          blobs: digests.map((d) => ({ digest: d, size: d === blob('held') ? 50 : 1000 })),
          ...(withManifest ? { manifest: { digest: m.digest, size: m.size } } : {}),
        });
        for (const reader of [store, { unheldBytes: (p: string, c: Parameters<MetadataTx['unheldBytes']>[1]) => store.transaction((tx) => tx.unheldBytes(p, c)) }]) {
          assert.equal(await reader.unheldBytes('team', content([blob('held')], true)), 0);
          assert.equal(await reader.unheldBytes('team', content([blob('held'), blob('new'), blob('new')])), 1000, 'a digest listed twice counts once');
          assert.equal(await reader.unheldBytes('other', content([blob('held')], true)), 50 + m.size, 'another project holds none of it');
          assert.equal(await reader.unheldBytes('team', { blobs: [] }), 0);
        }
        const many = Array.from({ length: 3000 }, (_, i) => ({ digest: blob(`many-${i}`), size: 1 }));
        assert.equal(await store.unheldBytes('team', { blobs: [...many, { digest: blob('held'), size: 50 }] }), 3000);
      });

      test('projectQuota reads the limit of the project row; setStorageLimit changes it', async (store) => {
        const id = await addProject(store, 'team', 1000);
        await store.transaction((tx) => tx.linkBlob('team/app', blob('a'), 10));
        assert.deepEqual(await store.projectQuota('team'), { project: 'team', projectId: id, limit: 1000, used: 10 });
        assert.deepEqual(await store.transaction((tx) => tx.projectQuota('team')), { project: 'team', projectId: id, limit: 1000, used: 10 });
        assert.equal(await store.transaction((tx) => tx.setStorageLimit('team', 5000)), true);
        assert.equal(await store.transaction((tx) => tx.setStorageLimit('nobody', 5000)), false);
        assert.equal((await store.projectQuota('team')).limit, 5000);
        // Inside a transaction the usage includes its own changes.
        const inside = await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('b'), 20);
          return tx.projectQuota('team');
        });
        assert.equal(inside.used, 30);
        assert.deepEqual(await store.projectQuota('nobody'), { project: 'nobody', projectId: undefined, limit: -1, used: 0 });
      });

      test('recountProjectUsage reports drift and repairs the counted sets, the total and released links', async (store) => {
        const m = manifest('m');
        await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('a'), 100);
          await tx.linkBlob('team/app', blob('b'), 200);
          await tx.linkBlob('team/web', blob('a'), 100);
          await tx.putManifest('team/app', m, [blob('a')]);
        });
        const right = 300 + m.size;
        const db = kysely(store);
        await db.updateTable('project_usage').set({ used: 12345 }).where('project', '=', 'team').execute();
        await db.deleteFrom('project_blobs').where('project', '=', 'team').where('digest', '=', blob('b')).execute();
        await db.updateTable('project_blobs').set({ links: 7 }).where('project', '=', 'team').where('digest', '=', blob('a')).execute();
        await db.insertInto('project_manifests').values({ project: 'team', digest: sha256('ghost'), size: 5, links: 1 }).execute();
        await db.updateTable('repository_blobs').set({ released: 1 }).where('digest', '=', blob('a')).execute();
        const report = await store.transaction((tx) => tx.recountProjectUsage('team'));
        assert.deepEqual(report, { project: 'team', before: 12345, after: right, blobsFixed: 2, manifestsFixed: 1, linksFixed: 1 });
        assert.equal(await used(store, 'team'), right);
        assert.equal(await store.repositoryBlobSize('team/app', blob('a')), 100, 'the link m references is held again');
        assert.equal(await store.repositoryBlobSize('team/web', blob('a')), undefined, 'an unreferenced released link stays released');
        assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage('team')), 'a second recount');
        // The kept sets are right again: the next changes count from them correctly.
        await store.transaction((tx) => tx.unlinkBlob('team/app', blob('b')));
        assert.equal(await used(store, 'team'), right - 200);
        assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage('team')));
        // A project whose usage row went missing is recounted too.
        await db.deleteFrom('project_usage').execute();
        assert.equal(await used(store, 'team'), 0);
        assert.ok((await store.usageProjects()).includes('team'), 'found from its repositories');
        assert.equal((await store.transaction((tx) => tx.recountProjectUsage('team'))).after, right - 200);
        assert.equal(await used(store, 'team'), right - 200);
      });

      test('usageProjects lists every project with a row, a usage or a repository', async (store) => {
        await addProject(store, 'empty');
        await store.transaction(async (tx) => {
          await tx.linkBlob('team/app', blob('a'), 1);
          await tx.putManifest('solo', manifest('m'), []);
        });
        assert.deepEqual(await store.usageProjects(), ['empty', 'library', 'solo', 'team']);
      });

      test('after any sequence of links, unlinks, manifest puts and deletes the usage equals a recount', async (store) => {
        const next = random(12);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
        const repositories = ['p/a', 'p/b', 'p', 'q/a'];
        const blobs = Array.from({ length: 6 }, (_, i) => ({ digest: blob(`r${i}`), size: 10 * (i + 1) }));
        const manifests = Array.from({ length: 4 }, (_, i) => ({ record: manifest(`r${i}`), refs: [pick(blobs), pick(blobs)] }));
        for (let step = 0; step < 120; step++) {
          const repository = pick(repositories);
          const roll = next();
          let what: string;
          if (roll < 0.35) {
            const b = pick(blobs);
            what = `link ${b.digest.slice(7, 13)}`;
            await store.transaction((tx) => tx.linkBlob(repository, b.digest, b.size));
          } else if (roll < 0.5) {
            const b = pick(blobs);
            what = `unlink ${b.digest.slice(7, 13)}`;
            await store.transaction((tx) => tx.unlinkBlob(repository, b.digest));
          } else if (roll < 0.8) {
            const m = pick(manifests);
            what = `put ${m.record.digest.slice(7, 13)}`;
            // As the registry does: only with its blobs linked in the repository.
            const linked = await store.blobSizes(repository, m.refs.map((r) => r.digest));
            if (linked.size < new Set(m.refs.map((r) => r.digest)).size) continue;
            await store.transaction((tx) => tx.putManifest(repository, m.record, m.refs.map((r) => r.digest), next() < 0.5 ? 'tag' : undefined));
          } else {
            const m = pick(manifests);
            what = `delete ${m.record.digest.slice(7, 13)}`;
            await store.transaction((tx) => tx.deleteManifest(repository, m.record.digest));
          }
          for (const project of ['p', 'q']) assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage(project)), `step ${step}: ${what} in ${repository}`);
        }
      });

      test('concurrent pushes that check the quota never take a project past its limit', async (store) => {
        await addProject(store, 'full', 1000);
        await store.transaction((tx) => tx.linkBlob('full/app', blob('base'), 300));
        const outcomes = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            store
              .transaction(async (tx) => {
                const quota = await tx.projectQuota('full');
                const adding = await tx.unheldBytes('full', { blobs: [{ digest: blob(`c${i}`), size: 100 }] });
                if (quota.used + adding > quota.limit) throw new Error('over the quota');
                await tx.linkBlob(`full/r${i % 4}`, blob(`c${i}`), 100);
              })
              .then(
                () => 'fitted',
                (err: Error) => err.message,
              ),
          ),
        );
        assert.deepEqual(
          outcomes.reduce<Record<string, number>>((n, o) => ({ ...n, [o]: (n[o] ?? 0) + 1 }), {}),
          { fitted: 7, 'over the quota': 9 },
        );
        assert.equal(await used(store, 'full'), 1000);
        assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage('full')));
      });

      test('concurrent links, unlinks and manifest changes of shared blobs in one project keep the usage exact', async (store) => {
        const shared = [blob('s1'), blob('s2'), blob('s3')];
        const m = manifest('shared');
        await store.transaction(async (tx) => {
          for (const d of shared) await tx.linkBlob('busy/seed', d, 64);
        });
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            store.transaction(async (tx) => {
              const repository = `busy/r${i % 5}`;
              if (i % 3 === 0) {
                await tx.unlinkBlob(repository, shared[i % 3]!);
                await tx.deleteManifest(repository, m.digest);
              } else {
                for (const d of [...shared].reverse()) await tx.linkBlob(repository, d, 64);
                await tx.putManifest(repository, m, shared);
              }
            }),
          ),
        );
        assertNoDrift(await store.transaction((tx) => tx.recountProjectUsage('busy')));
      });
    });

    test('ping answers', async (store) => {
      await store.ping();
    });
  });
}
