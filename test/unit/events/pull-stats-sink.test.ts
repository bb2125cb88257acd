// The pull-stats sink on a real SQLite database: pull events of a batch are folded per artifact
// (counts added, the latest time kept), a batch delivered again (at least once) is not counted
// twice, other events and repositories that do not exist are skipped.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { PullStatsSink } from '../../../src/events/pull-stats-sink.js';
import type { StoredEvent } from '../../../src/events/events.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite/sqlite-metadata-store.js';
import { tempDir } from '../../helpers/registry.js';

const actor = { kind: 'anonymous' as const };
const pulled = (id: number, repository: string, digest: string, count: number, at: string): StoredEvent => ({ id, type: 'artifact.pulled', at, actor, repository, digest, count });

test('pulls are folded per artifact, once per event, whatever is delivered again', async () => {
  const dir = await tempDir();
  const store = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  try {
    await store.db.insertInto('repositories').values({ name: 'lib/app', created_at: 1 }).execute();
    const sink = new PullStatsSink(store.db);
    const batch: StoredEvent[] = [
      pulled(1, 'lib/app', 'sha256:aa', 2, '2026-01-01T00:00:01.000Z'),
      { id: 2, type: 'tag.deleted', at: '2026-01-01T00:00:02.000Z', actor, repository: 'lib/app', tag: 'x', digest: 'sha256:aa' },
      pulled(3, 'lib/app', 'sha256:aa', 3, '2026-01-01T00:00:03.000Z'),
      pulled(4, 'lib/app', 'sha256:bb', 1, '2026-01-01T00:00:02.000Z'),
      pulled(5, 'gone/repo', 'sha256:cc', 9, '2026-01-01T00:00:04.000Z'),
    ];
    await sink.deliver(batch);
    await sink.deliver(batch); // redelivered after a crash: not counted again
    await sink.deliver([pulled(6, 'lib/app', 'sha256:aa', 1, '2026-01-01T00:00:00.500Z')]); // an older time stays behind
    const rows = await store.db.selectFrom('artifact_pulls').selectAll().orderBy('digest').execute();
    assert.deepEqual(
      rows.map((r) => [r.digest, Number(r.pull_count), new Date(Number(r.pull_time)).toISOString()]),
      [
        ['sha256:aa', 6, '2026-01-01T00:00:03.000Z'],
        ['sha256:bb', 1, '2026-01-01T00:00:02.000Z'],
      ],
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
