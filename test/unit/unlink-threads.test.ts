// The unlink threads behind FsBlobStore.deleteMany (storage/filesystem/unlink-threads.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UnlinkThreads } from '../../src/storage/filesystem/unlink-threads.js';
import { tempDir } from '../helpers/registry.js';

test('every path is unlinked across the threads, a missing one is fine, and a failure is reported with its code', async () => {
  const dir = await tempDir('minato-unlink-');
  const files = Array.from({ length: 300 }, (_, i) => path.join(dir, `f${i}`));
  for (const f of files) writeFileSync(f, 'x');
  const threads = new UnlinkThreads(3, 50);
  try {
    await threads.unlinkAll([...files, path.join(dir, 'never-there')]);
    assert.deepEqual(files.filter((f) => existsSync(f)), []);
    const sub = path.join(dir, 'a-directory');
    mkdirSync(sub);
    await assert.rejects(threads.unlinkAll([sub]), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'EPERM');
    // The threads end when idle; a later call starts them again.
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(files[0]!, 'y');
    await threads.unlinkAll([files[0]!]);
    assert.equal(existsSync(files[0]!), false);
  } finally {
    await threads.close();
  }
});
