// The PostgreSQL connection pool of the metadata store, its statements, and which failures mean
// "the database is unavailable" (MetadataUnavailableError, a 503 with Retry-After for clients)
// rather than a bug.
//
// Recovery after a restart or failover is pg.Pool's own: a connection that dies is dropped and
// the next query opens a new one; named statements are prepared again on it. What must not
// happen is an 'error' event nobody listens to (see createPool): it would end the process.
import type { Logger } from 'pino';
import pg from 'pg';
import { MetadataUnavailableError } from '../metadata-store.js';

export interface PoolOptions {
  url: string;
  maxConnections: number;
  /** Server-side limit of a statement, and twice it of a transaction left idle; 0: no limit. */
  statementTimeoutSeconds: number;
  log?: Logger;
}

/** How long a query waits for a connection (pool exhausted, or the server slow to accept) before it is a 503. */
const CONNECT_TIMEOUT_MS = 5000;

// int8 (bigint: sizes, times, event ids) as a JS number rather than pg's default string. Safe:
// sizes, milliseconds and ids stay far below 2^53. Set on this pool only, never on pg's global
// parsers, which other users of `pg` in the process share.
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export function createPool(options: PoolOptions): pg.Pool {
  const timeoutMs = options.statementTimeoutSeconds * 1000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    application_name: 'minato',
    types,
    // Server-side limits, so a stuck query or a transaction left open (its caller awaiting
    // something else) cannot hold locks forever. The idle limit is the longer one: a statement
    // that waited out its own limit must leave the transaction that blocked it time to finish.
    ...(timeoutMs > 0 ? { statement_timeout: timeoutMs, idle_in_transaction_session_timeout: 2 * timeoutMs } : {}),
  });
  // A connection that dies while checked out (in a transaction, between its statements, or
  // held by Kysely) reports it as an 'error' event on its client; unheard, that event would end
  // the process. The client's next statement then fails ("not queryable": unavailable), and
  // pg.Pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  let lastLogged = 0;
  pool.on('error', (err) => {
    // An idle connection died (server restart, failover, network): pg.Pool has dropped it and the
    // next query opens another. One line per burst: a restart ends every idle connection at once.
    const now = Date.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    options.log?.warn(
      { err: { message: err.message, code: (err as { code?: string }).code } },
      'a PostgreSQL connection of the metadata store was closed (server restart or network failure); new connections are opened as needed, requests get 503 until the server answers again',
    );
  });
  return pool;
}

/** A statement prepared once per connection under its name: later runs skip parsing and planning. */
export interface Statement {
  name: string;
  text: string;
}

export function statement(name: string, text: string): Statement {
  return { name: `minato_${name}`, text };
}

/** Something to run statements on: the pool (autocommit) or one client (a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function run<R extends pg.QueryResultRow>(on: Queryable, s: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await on.query<R>({ name: s.name, text: s.text, values });
  } catch (err) {
    throw storeError(err);
  }
}

// SQLSTATE classes and codes that say the server cannot do the work now but may soon: connection
// failures (08), insufficient resources (53: too many connections, disk full), the server
// shutting down or starting (57P01-57P03), a statement cancelled by statement_timeout (57014) or a
// session ended by idle_in_transaction_session_timeout (25P03), and the two conflicts PostgreSQL
// resolves by aborting one transaction (40001, 40P01). A client that retries after Retry-After
// succeeds; nothing was half-written, the transaction rolled back.
const UNAVAILABLE_CLASSES = new Set(['08', '53']);
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '57014', '25P03', '40001', '40P01']);
// Errors of the socket and of pg's own client, which carry no SQLSTATE.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const CLIENT_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Connection ended|not queryable/i;

export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLASSES.has(code.slice(0, 2))) return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isUnavailable); // connecting to several addresses of one name
  return err instanceof Error && CLIENT_MESSAGES.test(err.message);
}

/** The error a store method throws: MetadataUnavailableError for a failure that may pass, else the error itself. */
export function storeError(err: unknown): unknown {
  if (err instanceof MetadataUnavailableError) return err;
  return isUnavailable(err) ? new MetadataUnavailableError(err) : err;
}
