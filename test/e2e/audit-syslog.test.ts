// Audit forwarding to a real syslog server (Debian's rsyslogd, test/helpers/rsyslog.ts): what
// rsyslog parses out of minato's messages (RFC 5424 fields, structured data, the JSON in MSG)
// over TCP with octet counting and over UDP; and a server that goes away and comes back: the
// forwarding waits, reconnects and delivers every entry the database has.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog } from '../../src/audit/audit-log.js';
import { openSqlite } from '../../src/metadata/db.js';
import { client, request } from '../helpers/http.js';
import { imageManifest, sha256 } from '../helpers/oci.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRegistry, tempDir } from '../helpers/registry.js';
import { startRsyslog, type RunningRsyslog, type SyslogMessage } from '../helpers/rsyslog.js';

const MEDIA_TYPE = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };

let dir: string;
let rsyslog: RunningRsyslog;
before(async () => {
  dir = await tempDir('minato-rsyslog-');
  rsyslog = await startRsyslog(dir);
});
after(async () => {
  await rsyslog?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The structured data's parameters as rsyslog passed them on. */
function params(sd: string): Record<string, string> {
  const m = /^\[audit@32473((?: [^=]+="(?:[^"\\]|\\.)*")*)\]$/.exec(sd);
  assert.ok(m, sd);
  return Object.fromEntries([...m[1]!.matchAll(/ ([^=]+)="((?:[^"\\]|\\.)*)"/g)].map((p) => [p[1], p[2]!.replace(/\\(.)/g, '$1')]));
}

/** Pushes one image by tag to `repository`. */
async function push(api: ReturnType<typeof client>, repository: string, tag: string): Promise<string> {
  const layer = randomBytes(500);
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  for (const blob of [layer, config]) assert.equal((await api(`/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob })).status, 201);
  const manifest = imageManifest(config, [layer]);
  assert.equal((await api(`/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: MEDIA_TYPE })).status, 201);
  return sha256(manifest);
}

const ofEvent = (messages: SyslogMessage[], eventId: number) => messages.filter((m) => params(m.sd).event_id === String(eventId));

describe('audit forwarding to rsyslog', () => {
  test('TCP: every entry is an RFC 5424 message rsyslog parses into the fields of its row; an outage loses none', async () => {
    const reg = await startTestRegistry({ audit: { forward: { syslog: { host: '127.0.0.1', port: rsyslog.tcpPort, protocol: 'tcp' } } } });
    const db = await openSqlite(path.join(reg.dataDir, 'minato.db'));
    const audit = new AuditLog(db);
    try {
      const api = client(reg.url, reg.basic);
      const digest = await push(api, 'library/fwd', 'v1');
      assert.equal((await api('/v2/library/fwd/manifests/v1')).status, 200);
      const wrong = `Basic ${Buffer.from('zoë:wrong').toString('base64')}`;
      assert.equal((await request(`${reg.url}/v2/`, { headers: { Authorization: wrong } })).status, 401);

      const rows = await waitFor(async () => {
        const all = (await audit.query({}, { pageSize: 100, order: 'oldest' })).items;
        return all.some((e) => e.operation === 'pull') && all.some((e) => !e.success) ? all : undefined;
      });
      const messages = await waitFor(async () => {
        const got = (await rsyslog.messages()).filter((m) => m.input === 'tcp');
        return rows.every((r) => ofEvent(got, r.eventId).length > 0) ? got : undefined;
      }, 15_000, 'every row at rsyslog');
      for (const row of rows) {
        const [m] = ofEvent(messages, row.eventId);
        assert.equal(m!.version, '1');
        assert.equal(m!.app, 'audit', "Harbor's tag");
        assert.equal(m!.msgid, `${row.operation}_${row.resourceType}`);
        assert.equal(m!.pri, String(13 * 8 + (row.success ? 6 : 5)));
        assert.equal(Date.parse(m!.timestamp), row.opTime);
        assert.equal(m!.hostname, os.hostname());
        assert.equal(m!.procid, String(process.pid));
        const p = params(m!.sd);
        assert.deepEqual(
          [p.operation, p.resource_type, p.resource, p.username, p.success, p.address, p.description],
          [row.operation, row.resourceType, row.resource, row.username, String(row.success), row.address ?? undefined, row.description],
        );
        const json = JSON.parse(m!.msg) as Record<string, unknown>;
        assert.deepEqual([json.event_id, json.resource, json.username, json.project_id], [row.eventId, row.resource, row.username, row.projectId]);
      }
      const pushed = messages.find((m) => m.msgid === 'create_artifact' && params(m.sd).resource === 'library/fwd:v1');
      assert.ok(pushed);
      assert.match(params(pushed.sd).description ?? '', new RegExp(`pushed ${digest}`));
      const failed = messages.find((m) => m.msgid === 'login_user' && m.pri === '109');
      assert.equal(params(failed!.sd).username, 'zoë', 'UTF-8 in structured data');
      assert.equal((JSON.parse(failed!.msg) as { username: string }).username, 'zoë', 'escaped in the ASCII JSON');

      // The server goes away: operations go on, their entries wait; it comes back: all arrive.
      await rsyslog.stop();
      await push(api, 'library/fwd', 'v2');
      assert.equal((await api('/v2/library/fwd/manifests/v2')).status, 200);
      await sleep(2500); // a few failed deliveries, with backoff
      await rsyslog.start();
      const all = await waitFor(async () => {
        const entries = (await audit.query({}, { pageSize: 100 })).items;
        if (!entries.some((e) => e.resource === 'library/fwd:v2' && e.operation === 'pull')) return undefined;
        const got = await rsyslog.messages();
        return entries.every((e) => ofEvent(got, e.eventId).length > 0) ? entries : undefined;
      }, 40_000, 'every entry at rsyslog after its restart');
      assert.ok(all.some((e) => e.resource === 'library/fwd:v2' && e.operation === 'create'));
    } finally {
      await db.destroy();
      await reg.close();
    }
  });

  test('UDP: one datagram per entry', async () => {
    const reg = await startTestRegistry({ audit: { forward: { syslog: { host: '127.0.0.1', port: rsyslog.udpPort, protocol: 'udp' } } } });
    try {
      await push(client(reg.url, reg.basic), 'library/udp', 'v1');
      const got = await waitFor(async () => (await rsyslog.messages()).find((m) => m.input === 'udp' && m.msgid === 'create_artifact'), 15_000, 'a UDP message');
      assert.equal(params(got.sd).resource, 'library/udp:v1');
      assert.equal(got.app, 'audit');
    } finally {
      await reg.close();
    }
  });
});
