// The audit_logs table (migration 0003): appended to by the audit sink, queried by the management
// API and the CLI (filters, time range, newest first, pages), trimmed by the retention job.
// Kysely only, so it runs on SQLite and PostgreSQL alike.
//
// Pages are keyset ranges on (op_time, id) under the hood: a page after a cursor is an index
// range scan whatever the table's size. Harbor's page numbers are served too: the rows before
// the page are skipped on the index alone (a subquery of ids), then only the page's rows are read.
import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { Db } from '../metadata/db.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { AuditLogsTable, Database } from '../metadata/schema.js';
import type { AuditEntry, AuditRecord } from './audit-record.js';
import type { AuditTarget } from './audit-target.js';

/** A text column's match: exact (a string; uses the indexes), by prefix, or containing (Harbor's `~`), both ignoring ASCII case. */
export type TextMatch = string | { prefix: string } | { contains: string };

/** Which entries: every given condition must hold. */
export interface AuditFilter {
  /** One operation, or any of several (Harbor's `q=operation={create delete}`). */
  operation?: string | readonly string[];
  resourceType?: string | readonly string[];
  resource?: TextMatch;
  username?: TextMatch;
  projectId?: number;
  success?: boolean;
  /** Entries at or after this time (ms since the epoch). */
  from?: number;
  /** Entries at or before this time (ms since the epoch). */
  to?: number;
}

export interface AuditPageRequest {
  /** Entries per page, 1 to MAX_PAGE_SIZE. */
  pageSize: number;
  /** Harbor's 1-based page number (default 1). Ignored with `after`. */
  page?: number;
  /** Continue after this cursor (a page's `next`): a keyset range, the cheapest way through many pages. */
  after?: string;
  /** 'newest' first (default, Harbor's) or 'oldest' first (Harbor's `sort=op_time`). */
  order?: 'newest' | 'oldest';
}

export interface AuditPage {
  items: AuditEntry[];
  /** How many entries match the filter in all (Harbor's X-Total-Count). */
  total: number;
  /** The cursor of the next page; undefined on the last one. */
  next?: string;
}

export const MAX_PAGE_SIZE = 1000;

/** Rows deleted per statement by deleteBefore: short write locks, so pushes are not held up behind a purge. */
const DELETE_CHUNK = 5000;

/** Rows inserted per statement (each its own transaction): on SQLite a statement holds the event loop, 50 rows a few ms. */
const INSERT_CHUNK = 50;

/** A query the reader cannot answer as asked (bad page, page size or cursor): the caller's mistake, a 400. */
export class AuditQueryError extends Error {
  readonly code = 'INVALID_QUERY';
}

type Where = ExpressionBuilder<Database, 'audit_logs'>;

/**
 * The audit log's store. Concurrency: any number of readers; `write` is called by one sink at a
 * time (its fleet lock). Idempotency: `write` skips records whose event is already recorded.
 * Cost: a page is an index range scan (see the header); the total is a count over the filter's
 * rows (an index scan for the filters the indexes cover).
 */
export class AuditLog implements AuditTarget {
  readonly name = 'database';

  /**
   * `store`: the metadata store on the same database, whose write transactions this log's
   * writes wait for (MetadataStore.outsideTransactions). Without it (a reader, a tool that is
   * the only writer), writes go straight to the database.
   */
  constructor(
    private readonly db: Db,
    private readonly store?: Pick<MetadataStore, 'outsideTransactions'>,
  ) {}

  /**
   * Appends records, a transaction per INSERT_CHUNK with the event loop free in between (on
   * SQLite a statement holds it: 500 rows took ~50 ms). A record whose event is already there is
   * skipped, so a batch cut short by a crash and delivered again makes no duplicates.
   */
  async write(records: readonly AuditRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      const chunk = records.slice(i, i + INSERT_CHUNK).map(toRow);
      await this.writing(() => this.db.insertInto('audit_logs').values(chunk).onConflict((oc) => oc.column('event_id').doNothing()).execute());
      if (i + INSERT_CHUNK < records.length) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One page of the entries that match `filter`, with the total count. */
  async query(filter: AuditFilter, request: AuditPageRequest): Promise<AuditPage> {
    const [page, total] = await Promise.all([this.page(filter, request), this.count(filter)]);
    return { ...page, total };
  }

  /** One page of the entries that match `filter`, without the count (a caller following cursors need not pay for it). */
  async page(filter: AuditFilter, request: AuditPageRequest): Promise<Omit<AuditPage, 'total'>> {
    // One row more than the page tells whether there is a next one.
    const rows = await pageQuery(this.db, filter, request).execute();
    const items = rows.slice(0, request.pageSize).map(fromRow);
    const last = items[items.length - 1];
    return { items, next: rows.length > request.pageSize && last ? `${last.opTime}.${last.id}` : undefined };
  }

  /** How many entries match `filter`. */
  async count(filter: AuditFilter): Promise<number> {
    const row = await this.db
      .selectFrom('audit_logs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.and(conditions(eb, filter)))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Deletes the entries older than `before` (ms since the epoch), in chunks with a pause between
   * them (on SQLite each statement holds the write lock; pushes go in between). Returns how many.
   */
  async deleteBefore(before: number, signal?: AbortSignal): Promise<number> {
    let removed = 0;
    while (!signal?.aborted) {
      const chunk = this.db.selectFrom('audit_logs').select('id').where('op_time', '<', before).orderBy('op_time').limit(DELETE_CHUNK);
      const res = await this.writing(() => this.db.deleteFrom('audit_logs').where('id', 'in', chunk).executeTakeFirst());
      const n = Number(res.numDeletedRows);
      removed += n;
      if (n < DELETE_CHUNK) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  private writing<T>(fn: () => Promise<T>): Promise<T> {
    return this.store ? this.store.outsideTransactions(fn) : fn();
  }
}

/**
 * The query of one page (pageSize + 1 rows: the extra one says whether a next page exists).
 * Exported for the benchmark, which shows its plan. Throws AuditQueryError for a bad request.
 */
export function pageQuery(db: Db, filter: AuditFilter, request: AuditPageRequest) {
  const { pageSize } = request;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new AuditQueryError(`page size must be an integer from 1 to ${MAX_PAGE_SIZE}, not ${pageSize}`);
  const page = request.page ?? 1;
  if (!Number.isInteger(page) || page < 1) throw new AuditQueryError(`page must be an integer from 1 on, not ${page}`);
  const newest = (request.order ?? 'newest') === 'newest';
  const direction = newest ? 'desc' : 'asc';
  const after = request.after === undefined ? undefined : parseCursor(request.after);
  const base = db
    .selectFrom('audit_logs')
    .where((eb) => eb.and(conditions(eb, filter)))
    .orderBy('op_time', direction)
    .orderBy('id', direction)
    .limit(pageSize + 1);
  if (after !== undefined) return base.selectAll().where((eb) => eb(eb.refTuple('op_time', 'id'), newest ? '<' : '>', eb.tuple(after.opTime, after.id)));
  if (page === 1) return base.selectAll();
  // Deeper pages: skip on the index alone (ids only), then read just the page's rows.
  const ids = base.select('id').offset((page - 1) * pageSize);
  return db.selectFrom('audit_logs').selectAll().where('id', 'in', ids).orderBy('op_time', direction).orderBy('id', direction);
}

function conditions(eb: Where, filter: AuditFilter): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [];
  const oneOf = (column: 'operation' | 'resource_type', value: string | readonly string[]) =>
    typeof value === 'string' ? eb(column, '=', value) : eb(column, 'in', value.length > 0 ? [...value] : ['']);
  if (filter.operation !== undefined) out.push(oneOf('operation', filter.operation));
  if (filter.resourceType !== undefined) out.push(oneOf('resource_type', filter.resourceType));
  if (filter.resource !== undefined) out.push(text(eb, 'resource', filter.resource));
  if (filter.username !== undefined) out.push(text(eb, 'username', filter.username));
  if (filter.projectId !== undefined) out.push(eb('project_id', '=', filter.projectId));
  // A literal, not a parameter: the planner then knows it may use the partial index of failures (migration 0004).
  if (filter.success !== undefined) out.push(eb('success', '=', sql.lit(filter.success ? 1 : 0)));
  if (filter.from !== undefined) out.push(eb('op_time', '>=', filter.from));
  if (filter.to !== undefined) out.push(eb('op_time', '<=', filter.to));
  return out;
}

/** Prefix and contains ignore ASCII case on both databases (SQLite's LIKE does; PostgreSQL's would not, hence lower()). */
function text(eb: Where, column: 'resource' | 'username', match: TextMatch): Expression<SqlBool> {
  if (typeof match === 'string') return eb(column, '=', match);
  const literal = ('prefix' in match ? match.prefix : match.contains).toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  const pattern = 'prefix' in match ? `${literal}%` : `%${literal}%`;
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

function parseCursor(cursor: string): { opTime: number; id: number } {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(cursor);
  if (!m) throw new AuditQueryError(`not a cursor this audit log gave: "${cursor.slice(0, 40)}"`);
  return { opTime: Number(m[1]), id: Number(m[2]) };
}

function toRow(r: AuditRecord) {
  return {
    op_time: r.opTime,
    project_id: r.projectId,
    operation: r.operation,
    resource_type: r.resourceType,
    resource: r.resource,
    principal_id: r.principalId,
    username: r.username,
    address: r.address,
    success: r.success ? 1 : 0,
    description: r.description,
    event_id: r.eventId,
  };
}

function fromRow(row: Selectable<AuditLogsTable>): AuditEntry {
  return {
    id: Number(row.id),
    eventId: Number(row.event_id),
    opTime: Number(row.op_time),
    projectId: row.project_id === null ? null : Number(row.project_id),
    operation: row.operation,
    resourceType: row.resource_type,
    resource: row.resource,
    principalId: row.principal_id === null ? null : Number(row.principal_id),
    username: row.username,
    address: row.address,
    success: Number(row.success) === 1,
    description: row.description,
  };
}
