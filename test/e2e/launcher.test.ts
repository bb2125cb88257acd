// `minato serve` gets its memory tuning however it is started: `node bin/minato.js serve` (no
// node flags) runs the server as a child with them, which forwards signals and dies with its
// parent; node flags given directly (or MINATO_NODE_TUNING=off) run it in-process. The start-up
// log says which.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { missingFlags, TUNED_NODE_FLAGS } from '../../src/cli/launch.js';
import { waitFor } from '../helpers/ports.js';
import { CLI, spawnServe, tempDir } from '../helpers/registry.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataArgs(): Promise<string[]> {
  const tmp = await tempDir('minato-e2e-launcher-');
  dirs.push(tmp);
  return ['--data', path.join(tmp, 'data')];
}

/** The PIDs whose parent is `pid` (from /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

async function cmdline(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

/** Gone, or a zombie waiting for its new parent to reap it: either way no longer serving. */
async function dead(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return status === '' || /^State:\s+Z/m.test(status);
}

function memoryLine(output: string): { memory: string; msg: string } {
  const line = output.split('\n').find((l) => l.includes('"memory":'));
  assert.ok(line, `no memory line in:\n${output}`);
  return JSON.parse(line) as { memory: string; msg: string };
}

test('a flag the user gave in any form wins over the tuned one', () => {
  assert.deepEqual(missingFlags([]), [...TUNED_NODE_FLAGS]);
  assert.deepEqual(missingFlags(['--max-semi-space-size=8', '--memory-reducer', '--expose_gc']), ['--heap-growing-percent=50']);
});

test('node bin/minato.js serve: the server runs as a child with the flags, and stops with its parent', async () => {
  const srv = await spawnServe(await dataArgs());
  assert.equal(memoryLine(srv.output()).memory, 'relaunched');
  const [server, ...more] = await childrenOf(srv.pid);
  assert.ok(server !== undefined && more.length === 0, `expected one server process under the launcher, got ${[server, ...more]}`);
  const args = await cmdline(server);
  for (const flag of TUNED_NODE_FLAGS) assert.ok(args.includes(flag), `${flag} missing from the server's command line: ${args.join(' ')}`);
  assert.ok(args.includes(CLI) && args.includes('serve'), args.join(' '));

  // SIGTERM to the launcher reaches the server, which shuts down cleanly; the launcher exits 0.
  const exit = new Promise<number | null>((resolve) => srv.child.once('exit', (code) => resolve(code)));
  srv.child.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.match(srv.output(), /"signal":"SIGTERM".*shutting down/);
  await waitFor(() => dead(server), 5000, 'the server process to end');
});

test('kill -9 of the launcher takes the server with it', async () => {
  const srv = await spawnServe(await dataArgs());
  const [server] = await childrenOf(srv.pid);
  assert.ok(server !== undefined);
  await srv.kill9();
  await waitFor(() => dead(server), 5000, 'the orphaned server process to end');
});

test('flags given on the command line, or MINATO_NODE_TUNING=off: one process, and the log says which', async () => {
  const tuned = await spawnServe(await dataArgs(), {}, 20_000, [...TUNED_NODE_FLAGS]);
  assert.equal(memoryLine(tuned.output()).memory, 'tuned');
  assert.deepEqual(await childrenOf(tuned.pid), []);
  await tuned.stop();

  const plain = await spawnServe(await dataArgs(), { MINATO_NODE_TUNING: 'off' });
  const line = memoryLine(plain.output());
  assert.equal(line.memory, 'defaults');
  assert.match(line.msg, /MINATO_NODE_TUNING=off/);
  assert.deepEqual(await childrenOf(plain.pid), []);
  await plain.stop();
});
