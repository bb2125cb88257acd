// ACME in a fleet: three replicas (three AcmeCertificates, each on its own connection pool to one
// PostgreSQL coordination) against Pebble. Of replicas due at once exactly one orders and all
// serve its certificate; a renewal one replica makes reaches the others through the store; the
// HTTP-01 answer comes from the shared store, served by a replica that never ordered.
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import acme from 'acme-client';
import pino from 'pino';
import type { Coordination } from '../../src/coordination/coordination.js';
import { openCoordination } from '../../src/coordination/open.js';
import { startChallengeListener } from '../../src/server/challenge-listener.js';
import { AcmeCertificates } from '../../src/tls/acme/acme-certificates.js';
import { AcmeIssuer } from '../../src/tls/acme/acme-issuer.js';
import { Http01Solver } from '../../src/tls/acme/solvers.js';
import { CertStore } from '../../src/tls/cert-store.js';
import type { ServingCertificate } from '../../src/tls/certificate-provider.js';
import { request } from '../helpers/http.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/registry.js';
import { readFile } from 'node:fs/promises';

/** An AcmeIssuer that counts the orders it places (what "exactly one order" is checked against). */
class CountingIssuer extends AcmeIssuer {
  static orders = 0;
  override async obtain(names: string[], keyPem: string, signal?: AbortSignal): Promise<string> {
    CountingIssuer.orders++;
    return super.obtain(names, keyPem, signal);
  }
}

interface Replica {
  coordination: Coordination;
  provider: AcmeCertificates;
  swaps: ServingCertificate[];
  logs: string[];
}

let dir: string;
let postgres: RunningPostgres;
let pebble: Pebble;
let url: string;
let responder: http.Server;
let responderLogs: string[];
const opened: Coordination[] = [];

function capture(lines: string[]): pino.Logger {
  return pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
}

async function coordination(): Promise<Coordination> {
  const c = await openCoordination({ driver: 'postgres', url, pingMs: 1000 });
  opened.push(c);
  return c;
}

async function replica(): Promise<Replica> {
  const c = await coordination();
  const logs: string[] = [];
  const log = capture(logs);
  const provider = new AcmeCertificates({
    names: ['localhost'],
    directoryUrl: pebble.directoryUrl,
    challenges: ['http-01'],
    keyType: 'ecdsa-p256',
    store: new CertStore(c.kv),
    locker: c.locker,
    storeCheckMs: 1000,
    issuer: new CountingIssuer({ directoryUrl: pebble.directoryUrl, accounts: c.kv, termsAgreed: true, solvers: [new Http01Solver(c.kv)], log }),
    trustedRoots: [pebble.rootPem],
    retryMinMs: 1000,
    log,
  });
  const swaps: ServingCertificate[] = [];
  provider.onChange((cert) => swaps.push(cert));
  return { coordination: c, provider, swaps, logs };
}

const serial = (r: Replica) => r.provider.current()?.leaf.serialNumber;

before(async () => {
  dir = await tempDir('minato-acme-fleet-');
  postgres = await startPostgres();
  url = await postgres.createDatabase();
  const [httpPort, tlsPort, httpsPort] = await freePorts(3);
  await mkdir(path.join(dir, 'pebble'));
  pebble = await startPebble({ dir: path.join(dir, 'pebble'), httpPort: httpPort!, tlsPort: tlsPort! });
  // What acme-setup does for tls.acme.caBundle: trust Pebble's own HTTPS listener.
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, await readFile(pebble.listenerCa, 'utf8')] });
  // The only HTTP-01 responder Pebble reaches belongs to a replica that never orders: the
  // answers must come from the shared store.
  responderLogs = [];
  responder = await startChallengeListener(`127.0.0.1:${httpPort}`, new Http01Solver((await coordination()).kv), httpsPort!, capture(responderLogs));
});

after(async () => {
  await new Promise<void>((resolve) => (responder ? responder.close(() => resolve()) : resolve()));
  for (const c of opened) await c.close();
  await pebble?.stop();
  await postgres?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ACME with three replicas on one PostgreSQL coordination', { concurrency: false }, () => {
  let replicas: Replica[];

  test('three replicas starting at once: exactly one order, and all three serve its certificate', async () => {
    replicas = [await replica(), await replica(), await replica()];
    for (const r of replicas) await r.provider.start();
    assert.ok(replicas.every((r) => r.provider.current() === undefined), 'no certificate yet');
    for (const r of replicas) r.provider.listening(); // all three want their first order now
    await waitFor(() => replicas.every((r) => serial(r) !== undefined), 60_000, 'every replica to serve a certificate');
    // A replica may have taken the stored certificate through its store check while its own
    // attempt still waited for the lock: that attempt then re-checks, finds it, and ends.
    await waitFor(() => replicas.every((r) => !r.provider.status().ordering), 10_000, 'every attempt to end');
    assert.equal(CountingIssuer.orders, 1, 'one order for the fleet');
    assert.equal(new Set(replicas.map(serial)).size, 1, 'the same certificate everywhere');
    assert.ok(replicas.every((r) => r.swaps.length === 1), 'each listener was told once');
    const ordered = replicas.filter((r) => r.logs.some((l) => l.includes('ACME: certificate obtained and now served')));
    assert.equal(ordered.length, 1);
    const others = replicas.filter((r) => r !== ordered[0]);
    assert.ok(
      others.every((r) => r.logs.some((l) => /another replica already obtained a new certificate; not ordering|serving the certificate another replica obtained/.test(l))),
      'the others took the stored one',
    );
    // Pebble fetched the challenge from the replica that did not order.
    assert.ok(responderLogs.some((l) => l.includes('"answered":true')), responderLogs.join(''));
  });

  test('the HTTP-01 responder answers only tokens in the store; a path that is no token is 404', async () => {
    const base = `http://127.0.0.1:${pebble.httpPort}/.well-known/acme-challenge/`;
    assert.equal((await request(`${base}no-such-token`)).status, 404);
    assert.equal((await request(`${base}..%2F..%2Fcoordination_kv`)).status, 404);
    assert.equal((await request(`${base}a/b`)).status, 404);
  });

  test('due at the same moment, the three renew with one order; all serve the new certificate', async () => {
    const before = serial(replicas[0]!);
    const orders = CountingIssuer.orders;
    const logged = replicas.map((r) => r.logs.length);
    await Promise.all(replicas.map((r) => r.provider.renew()));
    const since = (r: Replica, i: number) => r.logs.slice(logged[i]).join('');
    assert.equal(CountingIssuer.orders, orders + 1, 'one more order, not three');
    const now = replicas.map(serial);
    assert.equal(new Set(now).size, 1, `one certificate: ${now}\n${replicas.map(since).join('\n')}`);
    assert.notEqual(now[0], before);
    const adopted = replicas.filter((r, i) => since(r, i).includes('another replica already obtained a new certificate; not ordering'));
    assert.equal(adopted.length, 2, 'the two that waited for the lock re-checked and took the new certificate');
  });

  test('a renewal by one replica reaches the others through the store, within the check interval', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const before = serial(a);
    const swapsBefore = [b.swaps.length, c.swaps.length];
    const orders = CountingIssuer.orders;
    await a.provider.renew();
    assert.equal(CountingIssuer.orders, orders + 1);
    const renewed = serial(a);
    assert.notEqual(renewed, before);
    const started = Date.now();
    await waitFor(() => serial(b) === renewed && serial(c) === renewed, 10_000, 'the other replicas to swap');
    assert.ok(Date.now() - started < 5000, `picked up after ${Date.now() - started} ms (check interval 1 s)`);
    assert.equal(b.swaps.length, swapsBefore[0]! + 1, 'b swapped its listener once');
    assert.equal(c.swaps.length, swapsBefore[1]! + 1);
    assert.equal(CountingIssuer.orders, orders + 1, 'and they did not order');
  });

  test('a replica started later serves the stored certificate without ordering', async () => {
    const late = await replica();
    const orders = CountingIssuer.orders;
    await late.provider.start();
    late.provider.listening();
    assert.equal(serial(late), serial(replicas[0]!));
    assert.ok(late.logs.some((l) => l.includes('serving the stored ACME certificate')));
    assert.equal(CountingIssuer.orders, orders);
    late.provider.stop();
  });

  after(() => {
    for (const r of replicas ?? []) r.provider.stop();
  });
});
