// The project, member, repository, artifact and tag endpoints on PostgreSQL: the same suites as
// on SQLite (test/integration/api-*-suite.ts), each registry on a fresh database of one
// throw-away cluster, an en-US ICU collation included (as databases in the field have).
import { after, before } from 'node:test';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { projectsSuite } from '../integration/api-projects-suite.js';
import { repositoriesSuite } from '../integration/api-repositories-suite.js';

let pg: RunningPostgres;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

const onPostgres = (icuLocale?: string) => async () => ({ database: { driver: 'postgres', url: await pg.createDatabase(undefined, icuLocale ? { icuLocale } : undefined) } });
projectsSuite('postgres', onPostgres());
repositoriesSuite('postgres, en-US collation', onPostgres('en-US'));
