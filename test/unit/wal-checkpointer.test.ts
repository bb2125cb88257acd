// The WAL checkpointer (metadata/sqlite/wal-checkpointer.ts): it copies committed pages into the
// database file on its own thread, and a failure of that thread is reported, not a crash.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { WalCheckpointer } from '../../src/metadata/sqlite/wal-checkpointer.js';
import { waitFor } from '../helpers/ports.js';
import { tempDir } from '../helpers/registry.js';

test('commits left in the WAL by a connection that never checkpoints are copied into the database file', async () => {
  const file = path.join(await tempDir('minato-wal-'), 'x.db');
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('create table t (x text)');
  const insert = db.prepare('insert into t values (?)');
  for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000));
  // 200 KB committed, all of it in the WAL: the database file itself is a few pages.
  assert.ok(statSync(file).size < 20_000, `the database file is ${statSync(file).size} bytes before any checkpoint`);
  const checkpointer = new WalCheckpointer(file, 50);
  try {
    await waitFor(async () => (statSync(file).size > 200_000 ? true : undefined), 5000, 'the WAL to be copied into the database file');
  } finally {
    await checkpointer.close();
    db.close();
  }
});

test('a checkpointer that cannot open its database reports it and stops; nothing throws', async () => {
  const errors: Error[] = [];
  const checkpointer = new WalCheckpointer(path.join(await tempDir('minato-wal-'), 'missing', 'x.db'), 50, (err) => errors.push(err));
  await waitFor(async () => (errors.length > 0 ? true : undefined), 5000, 'the failure to be reported');
  assert.match(errors[0]!.message, /unable to open|directory|no such/i);
  await checkpointer.close();
});
