// The scrub on SQLite (the findings suite, scrub-suite.ts), then what does not depend on the
// database: the pace (a scrub of N MB takes at least N / rate seconds), stop, 409 while running,
// and the CLI (findings grouped by kind with the advice, exit status).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { request } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { apiClient, assertApiError, type ApiClient } from '../helpers/openapi.js';
import { run } from '../helpers/peers.js';
import { waitFor } from '../helpers/ports.js';
import { CLI, startTestRegistry, tempDir, type TestRegistry } from '../helpers/registry.js';
import { blobFile, pushBlob, scrub, scrubSuite } from './scrub-suite.js';

scrubSuite('sqlite', async () => ({
  config: {},
  exec: async (reg, sql, params) => {
    const db = new Sqlite(path.join(reg.dataDir, 'minato.db'));
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  },
}));

describe('scrub pace, stop and the CLI', () => {
  let reg: TestRegistry;
  let admin: ApiClient;
  const RATE_MBPS = 4;
  const BYTES = 8_000_000;
  let layers: Buffer[];

  before(async () => {
    reg = await startTestRegistry({ scrub: { rateMBps: RATE_MBPS } });
    admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    // 8 MB in four layers of one image.
    layers = Array.from({ length: 4 }, () => randomBytes(BYTES / 4));
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    for (const blob of [config, ...layers]) await pushBlob(reg, 'library/big', blob);
    const res = await request(`${reg.url}/v2/library/big/manifests/v1`, { method: 'PUT', headers: { Authorization: reg.basic, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: imageManifest(config, layers) });
    assert.equal(res.status, 201, res.text);
  });
  after(() => reg.close());

  test(`the rate limit holds: ${BYTES / 1e6} MB at ${RATE_MBPS} MB/s take at least ${BYTES / 1e6 / RATE_MBPS} s`, async () => {
    const t0 = Date.now();
    const done = await scrub(admin, false);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(done.summary!.bytes_verified >= BYTES);
    assert.ok(seconds >= done.summary!.bytes_verified / (RATE_MBPS * 1e6), `took ${seconds} s`);
    assert.ok(seconds < 10, `took ${seconds} s: the pace is the limit, not much slower`);
  });

  test('409 while a scrub runs; a stop ends it with what it checked', async () => {
    const started = await admin('POST', '/api/v2.0/system/scrub', { json: {} });
    assert.equal(started.status, 201);
    const { id } = started.json();
    assertApiError(await admin('POST', '/api/v2.0/system/scrub', { json: {} }), 409, 'CONFLICT');
    await waitFor(async () => ((await admin('GET', `/api/v2.0/system/scrub/${id}`)).json().progress?.done ?? 0) > 0, 5000, 'progress');
    const stop = await admin('PATCH', `/api/v2.0/system/scrub/${id}`);
    assert.equal(stop.status, 200, stop.text);
    const stopped = await waitFor(async () => {
      const r = (await admin('GET', `/api/v2.0/system/scrub/${id}`)).json();
      return r.job_status === 'Running' ? undefined : r;
    }, 5000, 'the stop');
    assert.equal(stopped.job_status, 'Stopped');
    assert.equal(stopped.summary.stopped, true);
    assert.ok(stopped.summary.bytes_verified < BYTES, 'it ended early');
    assertApiError(await admin('PATCH', `/api/v2.0/system/scrub/${id}`), 409, 'CONFLICT');
  });

  test('minato scrub: the findings grouped by kind with the advice, exit status 1 while they remain, 0 once whole', async () => {
    const home = await tempDir();
    const minato = (args: string[]) => run(process.execPath, [CLI, ...args, '--registry', reg.url, '--user', 'admin'], { env: { XDG_CONFIG_HOME: home, MINATO_PASSWORD: reg.password } });
    const orphan = randomBytes(100);
    const file = blobFile(reg.dataDir, sha256(orphan));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, orphan);
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(file, old, old);

    const found = await minato(['scrub']);
    assert.equal(found.code, 1, `${found.stderr}${found.stdout}`);
    assert.match(found.stdout, /^orphan-blob \(1\): bytes in storage that no metadata knows/m);
    assert.match(found.stdout, new RegExp(`^  ${sha256(orphan)}$`, 'm'));
    assert.match(found.stdout, /to do: repair deletes them/);
    assert.match(found.stdout, /1 finding\(s\) remain: minato scrub --repair fixes what it can/);
    const status = await minato(['scrub', 'status', '--json']);
    assert.equal(status.code, 1);
    assert.equal(JSON.parse(status.stdout).findings[0].digest, sha256(orphan));

    const repaired = await minato(['scrub', '--repair']);
    assert.equal(repaired.code, 0, repaired.stderr + repaired.stdout);
    assert.match(repaired.stdout, /\[repaired\]/);
    assert.match(repaired.stdout, /OK: 1 finding\(s\) repaired, none remain/);
    assert.equal(existsSync(file), false);
  });

  test('one flipped byte in the middle of a 2 MB layer (read with direct I/O where the disk has it) is found', async () => {
    const file = blobFile(reg.dataDir, sha256(layers[2]!));
    const bytes = Buffer.from(layers[2]!);
    bytes[1_000_001] = bytes[1_000_001]! ^ 1;
    await writeFile(file, bytes);
    const found = await scrub(admin, false);
    assert.equal(found.summary!.findings['corrupt-blob'], 1, JSON.stringify(found.findings));
    assert.equal(found.findings[0]!.digest, sha256(layers[2]!));
  });
});

test('scrub.schedule: the job runs by itself and only reports', async () => {
  const reg = await startTestRegistry({ scrub: { schedule: '* * * * * *', rateMBps: 0 } });
  try {
    const admin = await apiClient(reg.url, { headers: { Authorization: reg.basic } });
    const scheduled = await waitFor(async () => {
      const runs = (await admin('GET', '/api/v2.0/system/scrub')).json() as Array<{ job_kind: string; job_status: string; job_parameters: string }>;
      return runs.find((r) => r.job_kind === 'SCHEDULE' && r.job_status === 'Success');
    }, 10_000, 'a scheduled scrub');
    assert.deepEqual(JSON.parse(scheduled.job_parameters), { repair: false });
  } finally {
    await reg.close();
  }
});
