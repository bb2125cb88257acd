// Tag immutability and tag retention on PostgreSQL: the same suites as on SQLite
// (test/integration/api-immutable-suite.ts, api-retention-suite.ts), each registry on a fresh
// database of one throw-away cluster.
import { after, before } from 'node:test';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { immutableSuite } from '../integration/api-immutable-suite.js';
import { retentionSuite } from '../integration/api-retention-suite.js';

let pg: RunningPostgres;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

const onPostgres = async () => ({ database: { driver: 'postgres', url: await pg.createDatabase() } });
immutableSuite('postgres', onPostgres);
retentionSuite('postgres', onPostgres);
