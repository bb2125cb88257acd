// The `database` config section: where the metadata lives, one object whose `driver` picks the
// store (config/schema.ts embeds it; docs/configuration.md documents every shape from these
// describes). server/ opens the store it names: SqliteMetadataStore or openPostgresMetadata.
import { z } from 'zod';

export const sqliteDatabaseSchema = z
  .strictObject({
    driver: z.literal('sqlite'),
  })
  .describe(
    'The embedded database: one SQLite file, `<data>/minato.db` (WAL; a committed change survives a crash of the process). ' +
      'For one process; replicas need a database they share (postgres).',
  );

export const postgresDatabaseSchema = z
  .strictObject({
    driver: z.literal('postgres'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// (or postgresql://) URL, e.g. postgres://minato:PASSWORD@db.example.com:5432/minato')
      .meta({ secret: true })
      .describe(
        'postgres://USER:PASSWORD@HOST:PORT/DATABASE of a database the user owns (minato creates and migrates its tables at start-up; replicas starting together take turns). ' +
          'TLS: append ?sslmode=verify-full, with &sslrootcert=FILE for a private CA. The password may be left out of the URL and come from the PGPASSWORD variable instead. ' +
          'Secret: `minato config check` shows the password redacted, and no log line contains it.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe(
        'Connections this process keeps to PostgreSQL at most; a request waits up to 5 s for a free one, then gets 503 with Retry-After. ' +
          "The server's max_connections must cover every replica's maxConnections, plus one per replica while it starts (migrations).",
      ),
    statementTimeoutSeconds: z
      .number()
      .int()
      .nonnegative()
      .default(30)
      .describe(
        'The server cancels a statement that runs longer (the request gets 503), and ends a transaction left idle twice as long, ' +
          'so a stuck or partitioned replica cannot hold locks others wait for. 0: no limit.',
      ),
  })
  .describe(
    'PostgreSQL (tested with 15), shared by every replica: N `minato serve` processes with the same database and storage are one registry, ' +
      'and what one replica committed is what every replica answers next. While the server cannot be reached, requests get 503 with Retry-After and each replica reconnects by itself.',
  );

export const databaseSchema = z.discriminatedUnion('driver', [sqliteDatabaseSchema, postgresDatabaseSchema]).describe('Database drivers');

export type DatabaseConfig = z.output<typeof databaseSchema>;
export type PostgresDatabaseConfig = z.output<typeof postgresDatabaseSchema>;
