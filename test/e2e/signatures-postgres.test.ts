// Signatures on PostgreSQL: the same suite as on SQLite (test/integration/signatures-suite.ts),
// on a fresh database of a throw-away cluster: the trust policy store, its queries (parents of a
// manifest, tags of a digest) and the outbox's trust-policy.changed events on the other dialect.
import { after, before } from 'node:test';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { signaturesSuite } from '../integration/signatures-suite.js';

let pg: RunningPostgres;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

signaturesSuite('postgres', async () => ({ database: { driver: 'postgres', url: await pg.createDatabase() } }));
