// Appending events to the outbox from a Kysely transaction, for the stores that write with Kysely
// directly (users, projects, members, robots) rather than through MetadataTx.
import { sql, type Kysely } from 'kysely';
import { eventRepository, type RegistryEvent } from '../events/events.js';
import type { Database } from './schema.js';

/** Whether a Kysely handle talks to PostgreSQL (for the few statements SQLite spells differently or lacks, e.g. FOR UPDATE). */
export function isPostgres(db: Kysely<Database>): boolean {
  return /postgres/i.test(db.getExecutor().adapter.constructor.name);
}

/** Writes the events in the transaction `trx`: they commit with the change or not at all. */
export async function appendToOutbox(trx: Kysely<Database>, events: readonly RegistryEvent[]): Promise<void> {
  if (events.length === 0) return;
  // On PostgreSQL, outbox ids are drawn in commit order under the store's outbox lock
  // (metadata/postgres/statements.ts): take it too, or a reader could pass these events by.
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(1835626081, 1)`.execute(trx);
  const now = Date.now();
  await trx
    .insertInto('events')
    .values(events.map((e) => ({ type: e.type, repository: eventRepository(e) ?? null, payload: JSON.stringify(e), created_at: now })))
    .execute();
}
