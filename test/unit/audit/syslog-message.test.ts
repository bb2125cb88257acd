// The syslog forwarder's messages: RFC 5424 as its ABNF has it (header, structured data with
// escaped values, MSG), and RFC 6587 octet counting in bytes, not characters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord } from '../../../src/audit/audit-record.js';
import { octetCounted, syslogMessage } from '../../../src/audit/syslog-forwarder.js';

const record: AuditRecord = {
  eventId: 41,
  opTime: Date.UTC(2026, 11, 1, 10, 20, 30, 456),
  projectId: 1,
  operation: 'create',
  resourceType: 'artifact',
  resource: 'library/app:v1',
  principalId: 7,
  username: 'zoë "the ]admin\\"',
  address: '192.0.2.10',
  success: true,
  description: 'pushed sha256:abc\nsecond line',
};
const origin = { hostname: 'reg-1.example', procid: '4242' };

// HEADER SP STRUCTURED-DATA SP MSG (RFC 5424 §6), with our one SD element.
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) \[audit@32473((?: [^= \]"]{1,32}="(?:[^"\\\]]|\\["\\\]])*")+)\] (.*)$/s;

test('a record is one RFC 5424 message: facility log audit, APP-NAME audit, MSGID the event type, fields as structured data and JSON', () => {
  const message = syslogMessage(record, origin);
  const m = RFC5424.exec(message);
  assert.ok(m, message);
  const [, pri, timestamp, hostname, app, procid, msgid, params, msg] = m;
  assert.equal(Number(pri), 13 * 8 + 6);
  assert.equal(timestamp, '2026-12-01T10:20:30.456Z');
  assert.deepEqual([hostname, app, procid, msgid], ['reg-1.example', 'audit', '4242', 'create_artifact']);
  const fields = Object.fromEntries([...params!.matchAll(/ ([^=]+)="((?:[^"\\\]]|\\["\\\]])*)"/g)].map((p) => [p[1], p[2]!.replace(/\\(["\\\]])/g, '$1')]));
  assert.equal(fields.username, 'zoë "the ]admin\\"', 'quotes, backslashes and ] escaped');
  assert.equal(fields.description, 'pushed sha256:abc second line', 'control characters are spaces in structured data');
  assert.equal(fields.event_id, '41');
  assert.equal(fields.success, 'true');
  assert.equal(fields.resource, 'library/app:v1');
  assert.match(msg!, /^[\x20-\x7e]*$/, 'MSG is plain ASCII');
  const json = JSON.parse(msg!) as Record<string, unknown>;
  assert.equal(json.username, record.username, 'the JSON keeps the exact value');
  assert.equal(json.description, record.description);
  assert.equal(json.event_type, 'create_artifact');
});

test('a failed operation is severity notice; a field without a value is left out', () => {
  const message = syslogMessage({ ...record, success: false, address: null, projectId: null, principalId: null }, origin);
  assert.match(message, /^<109>1 /);
  assert.doesNotMatch(message, /address=|project_id=|principal_id=/);
});

test('header fields stay printable and bounded; long values are cut', () => {
  const message = syslogMessage({ ...record, resource: 'r'.repeat(5000) }, { hostname: 'bad host\n', procid: '' });
  const m = RFC5424.exec(message);
  assert.ok(m);
  assert.equal(m[3], 'badhost');
  assert.equal(m[5], '-');
  assert.ok(message.length < 4000, String(message.length));
});

test('octet counting counts bytes', () => {
  const framed = octetCounted('<110>1 - - audit - - - zoë');
  const text = framed.toString('utf8');
  const space = text.indexOf(' ');
  assert.equal(Number(text.slice(0, space)), Buffer.byteLength('<110>1 - - audit - - - zoë'));
  assert.equal(framed.length, space + 1 + Number(text.slice(0, space)));
});
