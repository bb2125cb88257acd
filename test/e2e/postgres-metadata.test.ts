// The PostgreSQL metadata store when the database misbehaves, and as several replicas share it:
// a stopped or restarting server gives MetadataUnavailableError (a 503 for clients) and the same
// store recovers by itself; a statement that waits too long is cancelled; a transaction whose
// statement failed never commits; replicas starting together migrate once and read each other's
// writes; the password never appears in an error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetadataUnavailableError, type MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { sha256 } from '../helpers/oci.js';
import { freePort } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';

let cluster: RunningPostgres;
before(async () => {
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
});

const manifest = (seed: string) => {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, seed }));
  return { digest: sha256(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, annotations: null, size: content.length, content };
};

async function withStore(fn: (store: MetadataStore, url: string) => Promise<void>, options: { statementTimeoutSeconds?: number } = {}): Promise<void> {
  const url = await cluster.createDatabase();
  const store = await openPostgresMetadata({ url, maxConnections: 4, ...options });
  try {
    await fn(store, url);
  } finally {
    await store.close();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const unavailable = (err: unknown) => err instanceof MetadataUnavailableError;

/** Retries until the store answers again (the pool reconnects on its own). */
async function recovered(store: MetadataStore, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await store.ping();
      return Date.now() - start;
    } catch (err) {
      assert.ok(unavailable(err), `while recovering: ${String(err)}`);
      if (Date.now() - start > timeoutMs) throw err;
      await sleep(50);
    }
  }
}

test('a stopped server: reads and transactions fail fast with MetadataUnavailableError; the same store works once it is back', async () => {
  await withStore(async (store) => {
    await store.transaction((tx) => tx.putManifest('team/app', manifest('1'), [], 'v1'));
    await cluster.halt();
    try {
      const started = Date.now();
      await assert.rejects(store.resolveTag('team/app', 'v1'), unavailable);
      await assert.rejects(store.getManifest('team/app', manifest('1').digest), unavailable);
      await assert.rejects(store.transaction((tx) => tx.putManifest('team/app', manifest('2'), [], 'v2')), unavailable);
      await assert.rejects(store.principal('user', 'alice'), unavailable); // a Kysely query
      await assert.rejects(store.ping(), unavailable);
      assert.ok(Date.now() - started < 4000, 'refused connections fail at once, not after a timeout');
    } finally {
      await cluster.start();
    }
    await recovered(store);
    assert.equal(await store.resolveTag('team/app', 'v1'), manifest('1').digest);
    assert.equal(await store.resolveTag('team/app', 'v2'), undefined, 'the failed transaction left nothing');
    await store.transaction((tx) => tx.putManifest('team/app', manifest('2'), [], 'v2'));
    assert.equal(await store.resolveTag('team/app', 'v2'), manifest('2').digest);
  });
});

test('a restart under load: every failure is MetadataUnavailableError, nothing half-written, and work resumes', async () => {
  await withStore(async (store) => {
    let running = true;
    const failures: unknown[] = [];
    const committed: string[] = [];
    const workers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; running; i++) {
        const tag = `w${w}-${i}`;
        try {
          if (i % 2 === 0) {
            await store.transaction(async (tx) => {
              await tx.linkBlob('team/app', sha256(tag), 1);
              await tx.putManifest('team/app', manifest(tag), [sha256(tag)], tag);
              await tx.appendEvents([{ type: 'tag.updated', at: new Date().toISOString(), actor: { kind: 'system' }, repository: 'team/app', tag, digest: manifest(tag).digest }]);
            });
            committed.push(tag);
          } else {
            await store.listTags('team/app', undefined, 10);
          }
        } catch (err) {
          failures.push(err);
          await sleep(20);
        }
      }
    });
    await sleep(300);
    await cluster.restart();
    await sleep(500);
    running = false;
    await Promise.all(workers);
    assert.ok(committed.length > 0);
    assert.ok(failures.length > 0, 'the restart was noticed');
    for (const err of failures) assert.ok(unavailable(err), `an unexpected error: ${String(err)}`);
    await recovered(store);
    // Every acknowledged transaction is there whole; a transaction is there whole or not at all.
    const tags = new Set<string>();
    for (let page = await store.listTags('team/app', undefined, 100); page.length > 0; page = await store.listTags('team/app', page.at(-1), 100)) for (const t of page) tags.add(t);
    for (const tag of committed) assert.ok(tags.has(tag), `acknowledged ${tag} is missing`);
    const events = await store.eventsAfter(0, 100_000);
    assert.equal(events.length, tags.size, 'one event per stored tag, no more');
    for (const tag of tags) {
      assert.equal(await store.repositoryBlobSize('team/app', sha256(tag)), 1);
      assert.equal(await store.resolveTag('team/app', tag), manifest(tag).digest);
    }
  });
});

test('a transaction waiting when the server restarts fails with MetadataUnavailableError (the process survives)', async () => {
  await withStore(async (store) => {
    const inside = deferred();
    const resume = deferred();
    const waiting = store.transaction(async (tx) => {
      await tx.linkBlob('team/app', sha256('x'), 1);
      inside.resolve();
      await resume.promise; // the connection dies meanwhile, with no query running on it
      await tx.linkBlob('team/app', sha256('y'), 1);
    });
    await inside.promise;
    await cluster.restart();
    await sleep(100);
    resume.resolve();
    await assert.rejects(waiting, unavailable);
    await recovered(store);
    assert.equal(await store.repositoryExists('team/app'), false);
  });
});

test('a statement that waits longer than statementTimeoutSeconds is cancelled as unavailable; the lock holder commits', async () => {
  await withStore(
    async (store) => {
      await store.transaction((tx) => tx.putManifest('team/app', manifest('1'), [], 'latest'));
      const locked = deferred();
      const release = deferred();
      const holder = store.transaction(async (tx) => {
        await tx.resolveTag('team/app', 'latest'); // takes the tag's lock until commit
        locked.resolve();
        await release.promise;
        await tx.putManifest('team/app', manifest('2'), [], 'latest');
      });
      await locked.promise;
      const started = Date.now();
      await assert.rejects(
        store.transaction((tx) => tx.resolveTag('team/app', 'latest')),
        unavailable,
      );
      const waited = Date.now() - started;
      assert.ok(waited >= 900 && waited < 5000, `cancelled after ${waited} ms`);
      release.resolve();
      await holder;
      assert.equal(await store.resolveTag('team/app', 'latest'), manifest('2').digest);
    },
    { statementTimeoutSeconds: 1 },
  );
});

test('a transaction left idle twice the statement timeout is ended by the server, and its locks with it', async () => {
  await withStore(
    async (store) => {
      const stalled = store.transaction(async (tx) => {
        await tx.resolveTag('team/app', 'latest');
        await sleep(3000); // e.g. a policy that awaited the network inside the transaction
        await tx.putManifest('team/app', manifest('late'), [], 'latest');
      });
      await sleep(2500); // past the 2 s idle limit
      // Another writer gets the tag at once: the server ended the stalled transaction and its lock.
      await store.transaction(async (tx) => {
        await tx.resolveTag('team/app', 'latest');
        await tx.putManifest('team/app', manifest('1'), [], 'latest');
      });
      await assert.rejects(stalled, unavailable);
      assert.equal(await store.resolveTag('team/app', 'latest'), manifest('1').digest);
    },
    { statementTimeoutSeconds: 1 },
  );
});

test('a transaction whose statement failed does not commit, even when fn catches the error', async () => {
  await withStore(async (store) => {
    let caught: unknown;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.linkBlob('team/app', sha256('a'), 1);
        try {
          await tx.linkBlob('team/app', 'sha256:\u0000', 1); // PostgreSQL's text cannot hold NUL
        } catch (err) {
          caught = err;
        }
        await tx.linkBlob('team/app', sha256('b'), 1).catch(() => undefined); // PostgreSQL refuses everything after a failure
      }),
      (err) => err === caught,
    );
    assert.equal(await store.repositoryBlobSize('team/app', sha256('a')), undefined);
    // The connection went back to the pool clean: the next transactions work.
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.transaction((tx) => tx.linkBlob('team/app', sha256(`ok-${i}`), 1))));
    assert.equal(await store.repositoryBlobSize('team/app', sha256('ok-7')), 1);
  });
});

test('replicas starting together migrate once, and each reads what another committed at once', async () => {
  const url = await cluster.createDatabase();
  const replicas = await Promise.all([1, 2, 3].map(() => openPostgresMetadata({ url, maxConnections: 2 })));
  try {
    for (let i = 0; i < 20; i++) {
      const writer = replicas[i % 3]!;
      const reader = replicas[(i + 1) % 3]!;
      const m = manifest(`m${i}`);
      await writer.transaction((tx) => tx.putManifest('team/app', m, [], 'latest'));
      assert.equal(await reader.resolveTag('team/app', 'latest'), m.digest);
      assert.deepEqual(await reader.getManifest('team/app', m.digest), m);
      await writer.transaction((tx) => tx.deleteTag('team/app', 'latest'));
      assert.equal(await reader.resolveTag('team/app', 'latest'), undefined);
    }
    // An upload started on one replica, continued on a second, seen done on the third.
    await replicas[0]!.createUpload({ id: 'u-1', repository: 'team/app', createdAt: Date.now(), state: { id: 'u-1', offset: 0 } });
    assert.equal((await replicas[1]!.getUpload('u-1'))?.durable, true, 'written at POST, before any byte');
    assert.equal(await replicas[1]!.transaction((tx) => tx.updateUpload('u-1', { id: 'u-1', offset: 10 }, 0)), true);
    assert.equal((await replicas[2]!.getUpload('u-1'))?.state.offset, 10);
  } finally {
    await Promise.all(replicas.map((r) => r.close()));
  }
});

test('open: a wrong password or an unreachable server is a clear error without the password', async () => {
  const url = await cluster.createDatabase();
  const wrong = url.replace('minato-pw', 'not-the-Pa55word');
  await assert.rejects(openPostgresMetadata({ url: wrong }), (err: Error) => {
    assert.match(err.message, /cannot open the metadata database minato@127\.0\.0\.1:\d+\/t_\w+: .*password authentication failed/);
    assert.doesNotMatch(err.message, /not-the-Pa55word/);
    return true;
  });
  const nowhere = `postgres://minato:secret-Pa55@127.0.0.1:${await freePort()}/minato`;
  await assert.rejects(openPostgresMetadata({ url: nowhere }), (err: Error) => {
    assert.match(err.message, /cannot open the metadata database minato@127\.0\.0\.1:\d+\/minato: .*ECONNREFUSED/);
    assert.doesNotMatch(err.message, /secret-Pa55/);
    return true;
  });
});
