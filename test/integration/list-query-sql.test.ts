// Filters parsed from Harbor's q= (api/query.ts) turned into SQL (metadata/list-query.ts) give
// the same rows on SQLite and on PostgreSQL: exact, fuzzy (ignoring ASCII case on both, "%" and
// "_" taken literally), ranges of numbers and times, any-of and all-of lists, booleans as the
// 0/1 the tables store. Run on the projects table of the real schema.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseQ } from '../../src/api/query.js';
import { openSqlite, type Db } from '../../src/metadata/db.js';
import { filterSql } from '../../src/metadata/list-query.js';
import { openPostgresMetadata } from '../../src/metadata/postgres/postgres-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';

const FIELDS = { name: 'string', public: 'bool', storage_limit: 'int', creation_time: 'time' } as const;
const COLUMNS = { name: 'name', public: 'public', storage_limit: 'storage_limit', creation_time: 'created_at' };
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

const PROJECTS = [
  { name: 'alpha', public: 1, storage_limit: -1, created_at: T0 },
  { name: 'Beta-Team', public: 0, storage_limit: 100, created_at: T0 + DAY },
  { name: '100%_real', public: 0, storage_limit: 1000, created_at: T0 + 2 * DAY },
  { name: '100x_fake', public: 1, storage_limit: 5000, created_at: T0 + 3 * DAY },
  { name: 'gamma', public: 0, storage_limit: 0, created_at: T0 + 4 * DAY },
];

async function names(db: Db, q: string): Promise<string[]> {
  const filter = parseQ(q, FIELDS);
  const rows = await db
    .selectFrom('projects')
    .select('name')
    .where('name', '!=', 'library')
    .where((eb) => filterSql(eb, filter, COLUMNS))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.name);
}

function suite(name: string, open: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`q= as SQL: ${name}`, () => {
    let db: Db;
    let close: () => Promise<void>;
    before(async () => {
      ({ db, close } = await open());
      await db.insertInto('projects').values(PROJECTS.map((p) => ({ ...p, updated_at: p.created_at }))).execute();
    });
    after(() => close());

    test('exact, booleans, and no filter at all', async () => {
      assert.deepEqual(await names(db, 'name=gamma'), ['gamma']);
      assert.deepEqual(await names(db, 'name=Gamma'), [], 'exact is exact');
      assert.deepEqual(await names(db, 'public=true'), ['alpha', '100x_fake']);
      assert.deepEqual(await names(db, 'public=false,storage_limit=0'), ['gamma']);
      assert.deepEqual(await names(db, ''), PROJECTS.map((p) => p.name));
    });

    test('fuzzy ignores ASCII case on both dialects and takes % and _ literally', async () => {
      assert.deepEqual(await names(db, 'name=~TEAM'), ['Beta-Team']);
      assert.deepEqual(await names(db, 'name=~a'), ['alpha', 'Beta-Team', '100%_real', '100x_fake', 'gamma']);
      assert.deepEqual(await names(db, 'name=~100%_'), ['100%_real'], '"%" and "_" are not wildcards');
      assert.deepEqual(await names(db, 'name=~_'), ['100%_real', '100x_fake']);
      assert.deepEqual(await names(db, 'name=~\\'), [], 'a backslash is a character too');
    });

    test('ranges of numbers and times, open at either end', async () => {
      assert.deepEqual(await names(db, 'storage_limit=[0~1000]'), ['Beta-Team', '100%_real', 'gamma']);
      assert.deepEqual(await names(db, 'storage_limit=[1001~]'), ['100x_fake']);
      assert.deepEqual(await names(db, 'creation_time=[2026-01-02T00:00:00~2026-01-03T00:00:00]'), ['Beta-Team', '100%_real']);
      assert.deepEqual(await names(db, 'creation_time=[~2026-01-01T00:00:00Z]'), ['alpha']);
    });

    test('any of a list, all of a list, and several fields together', async () => {
      assert.deepEqual(await names(db, 'name={gamma alpha nothing}'), ['alpha', 'gamma']);
      assert.deepEqual(await names(db, 'storage_limit=(100 100)'), ['Beta-Team']);
      assert.deepEqual(await names(db, 'storage_limit=(100 1000)'), [], 'one value cannot equal two');
      assert.deepEqual(await names(db, 'name=~a,public=false,storage_limit=[1~]'), ['Beta-Team', '100%_real']);
    });
  });
}

let cluster: RunningPostgres | undefined;
let dir: string | undefined;
before(async () => {
  dir = await tempDir();
  cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

suite('sqlite', async () => {
  const db = await openSqlite(path.join(dir!, 'list.db'));
  return { db, close: () => db.destroy() };
});

suite('postgres', async () => {
  const meta = await openPostgresMetadata({ url: await cluster!.createDatabase(undefined, { icuLocale: 'en-US' }), maxConnections: 2 });
  return { db: meta.db, close: () => meta.close() };
});
