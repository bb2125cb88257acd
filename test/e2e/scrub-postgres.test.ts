// The scrub's findings suite (test/integration/scrub-suite.ts) on PostgreSQL: the keyset pages
// and anti-joins of metadata/scrub-queries.ts on a database with an en-US ICU collation, as
// databases in the field have.
import { after, before } from 'node:test';
import pg from 'pg';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { scrubSuite } from '../integration/scrub-suite.js';

let pg_: RunningPostgres;
before(async () => {
  pg_ = await startPostgres();
});
after(() => pg_?.stop());

let url = '';
scrubSuite('postgres, en-US collation', async () => {
  url = await pg_.createDatabase(undefined, { icuLocale: 'en-US' });
  return {
    config: { database: { driver: 'postgres', url } },
    exec: async (_reg, sql, params) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        let n = 0;
        await client.query(sql.replace(/\?/g, () => `$${++n}`), params);
      } finally {
        await client.end();
      }
    },
  };
});
