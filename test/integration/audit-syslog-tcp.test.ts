// The syslog forwarder's TCP connection against a plain TCP listener that reads RFC 6587 octet-
// counted frames: a connection the server drops has what was written just before it sent again
// on the next one; a server that is gone makes the write fail (the sink retries it) with a
// message that names it; nothing is lost across both. (rsyslog itself: test/e2e/audit-syslog.test.ts.)
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '../../src/audit/audit-record.js';
import { AuditSyslogForwarder } from '../../src/audit/syslog-forwarder.js';
import { freePort, waitFor } from '../helpers/ports.js';

interface Listener {
  /** Every message received, in order, across connections. */
  messages: string[];
  connections: net.Socket[];
  close(): Promise<void>;
}

/** Reads "LEN SP MSG" frames; a frame whose length does not match its bytes fails the test. */
async function listen(port: number): Promise<Listener> {
  const messages: string[] = [];
  const connections: net.Socket[] = [];
  const server = net.createServer((socket) => {
    connections.push(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        assert.ok(Number.isInteger(length) && length > 0, `a frame length, not "${buffer.subarray(0, space).toString()}"`);
        if (buffer.length < space + 1 + length) return;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    messages,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  };
}

const record = (eventId: number): AuditRecord => ({
  eventId,
  opTime: Date.now(),
  projectId: 1,
  operation: 'pull',
  resourceType: 'artifact',
  resource: `library/app:v${eventId}`,
  principalId: 7,
  username: 'zoë',
  address: '192.0.2.1',
  success: true,
  description: `${eventId} pulls`,
});

const eventIds = (messages: string[]) => messages.map((m) => (JSON.parse(m.slice(m.indexOf('] ') + 2)) as { event_id: number }).event_id);

test('a dropped connection has its last writes sent again; a server that is gone fails the write until it is back', async () => {
  const port = await freePort();
  const signal = new AbortController().signal;
  const forwarder = new AuditSyslogForwarder({ host: '127.0.0.1', port, protocol: 'tcp' });
  let server = await listen(port);
  try {
    await forwarder.write([record(1), record(2)], signal);
    await waitFor(() => server.messages.length === 2);
    assert.deepEqual(eventIds(server.messages), [1, 2]);
    assert.equal(server.connections.length, 1, 'one connection for both');

    // The server drops the connection: what was written on it lately may not have arrived.
    server.connections[0]!.destroy();
    await sleep(100);
    await forwarder.write([record(3)], signal);
    await waitFor(() => server.messages.length === 5);
    assert.deepEqual(eventIds(server.messages), [1, 2, 1, 2, 3], 'sent again first, then the new one');
    assert.equal(server.connections.length, 2);

    // The server is gone: the write fails, saying where it could not connect.
    await server.close();
    await sleep(100);
    await assert.rejects(forwarder.write([record(4)], signal), /cannot connect to the syslog server 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    // Back: the retried batch goes, after what was written just before the connection ended.
    server = await listen(port);
    await forwarder.write([record(4)], signal);
    await waitFor(() => server.messages.length >= 1 && eventIds(server.messages).includes(4));
    assert.deepEqual(eventIds(server.messages), [1, 2, 3, 4]);
  } finally {
    await forwarder.close();
    await server.close();
  }
});
