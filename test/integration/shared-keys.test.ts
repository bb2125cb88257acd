// Keys a fleet's replicas must share, on one PostgreSQL coordination: the token-signing key (a
// token one replica issued is accepted by every other) and the private CA with its server
// certificate (created once, issued once, renewals picked up by the others).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { TokenService, TOKEN_KEY } from '../../src/auth/token-service.js';
import type { Coordination } from '../../src/coordination/coordination.js';
import { openCoordination } from '../../src/coordination/open.js';
import { PrivateCaCertificates } from '../../src/tls/private-ca-certificates.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';

let postgres: RunningPostgres;
const opened: Coordination[] = [];
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  for (const c of opened) await c.close();
  await postgres?.stop();
});

/** `n` replicas' coordinations on one fresh database. */
async function fleet(n: number): Promise<Coordination[]> {
  const url = await postgres.createDatabase();
  const all = await Promise.all(Array.from({ length: n }, () => openCoordination({ driver: 'postgres', url })));
  opened.push(...all);
  return all;
}

describe('shared keys on PostgreSQL', () => {
  test('replicas starting together share one token-signing key: a token from one is valid on the others', async () => {
    const replicas = await fleet(3);
    const opts = { issuer: 'minato', service: 'minato', ttlSeconds: 300 };
    const services = await Promise.all(replicas.map((c) => TokenService.open(c.kv, opts)));
    const { token } = await services[0]!.issue('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    for (const s of services) assert.equal((await s.verify(token))?.subject, 'alice');
    assert.deepEqual(await replicas[1]!.kv.list(TOKEN_KEY), [TOKEN_KEY], 'one key stored');
    // A later replica loads the same key.
    const late = await TokenService.open(replicas[2]!.kv, opts);
    assert.equal((await late.verify(token))?.subject, 'alice');
  });

  test('private CA: replicas starting together create one CA and issue one server certificate; a renewal reaches the others', async () => {
    const replicas = await fleet(3);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const providers = replicas.map(
      (c) => new PrivateCaCertificates({ kv: c.kv, locker: c.locker, storeCheckMs: 1000, names: ['registry.lan'], validityMs: 30 * 86_400_000, caValidityYears: 1, permittedNames: [] }, log),
    );
    try {
      await Promise.all(providers.map((p) => p.start()));
      assert.equal(lines.filter((l) => l.includes('created a private CA')).length, 1, 'one CA created');
      assert.equal(new Set(providers.map((p) => p.caCertificatePem())).size, 1, 'every replica hands out the same CA');
      assert.equal(lines.filter((l) => l.includes('issued a server certificate from the private CA')).length, 1, 'one server certificate issued');
      const serials = providers.map((p) => p.current()!.leaf.serialNumber);
      assert.equal(new Set(serials).size, 1, `one server certificate: ${serials}`);

      await providers[0]!.renew();
      const renewed = providers[0]!.current()!.leaf.serialNumber;
      assert.notEqual(renewed, serials[0]);
      await waitFor(() => providers.every((p) => p.current()!.leaf.serialNumber === renewed), 5000, 'the others to serve the renewed certificate');
    } finally {
      for (const p of providers) p.stop();
    }
  });
});
