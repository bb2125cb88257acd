// The audit log's queries on a large table: a page of 100 (and, separately, its total count) for
// the filters the management API offers, on N rows (default 1,000,000) in SQLite, with each
// query's plan. What docs/benchmarks.md cites for "a page of 100 in < 50 ms at a million rows".
// PostgreSQL (--store postgres) is the throw-away test cluster (tmpfs, fsync off).
//   node dist/bench/audit-log.js [--rows N] [--store sqlite|postgres] [--runs N] [--out FILE.jsonl]
import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { AuditLog, pageQuery, type AuditFilter, type AuditPageRequest } from '../src/audit/audit-log.js';
import type { AuditRecord } from '../src/audit/audit-record.js';
import { openSqlite, sqliteHandle, type Db } from '../src/metadata/db.js';
import { openPostgresMetadata } from '../src/metadata/postgres/postgres-metadata-store.js';
import { startPostgres, type RunningPostgres } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/registry.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    store: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '9' },
    out: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const DAY = 86_400_000;
const END = Date.UTC(2026, 11, 1);
const START = END - 365 * DAY;

/** A deterministic pseudo-random sequence (the same table every run). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A year of a busy registry: 1,000 projects (a few hot ones), 2,000 users, 70 % pulls, 15 %
 * pushes, 5 % tag changes, 7 % logins (one in ten failed), 3 % member, robot, project changes.
 */
function* records(count: number): Generator<AuditRecord> {
  const r = random(12);
  const skewed = (n: number) => Math.floor(n * r() ** 3); // a few values take most rows
  for (let i = 0; i < count; i++) {
    const opTime = Math.floor(START + ((END - START) * i) / count + r() * 1000);
    const project = 1 + skewed(1000);
    const repo = `p${project}/app${skewed(20)}`;
    const user = `user${skewed(2000)}`;
    const kind = r();
    const base = { eventId: i + 1, opTime, principalId: 1 + skewed(2000), username: user, address: `10.0.${skewed(250)}.${skewed(250)}`, success: true, description: '' };
    if (kind < 0.7) yield { ...base, projectId: project, operation: 'pull', resourceType: 'artifact', resource: `${repo}:v${skewed(50)}`, description: `${1 + skewed(20)} pulls of sha256:${'a'.repeat(64)}` };
    else if (kind < 0.85) yield { ...base, projectId: project, operation: 'create', resourceType: 'artifact', resource: `${repo}:v${skewed(50)}`, description: `pushed sha256:${'b'.repeat(64)}` };
    else if (kind < 0.9) yield { ...base, projectId: project, operation: r() < 0.8 ? 'create' : 'delete', resourceType: 'tag', resource: `${repo}:v${skewed(50)}` };
    else if (kind < 0.97) {
      const ok = r() >= 0.1;
      yield { ...base, projectId: null, principalId: ok ? base.principalId : null, operation: 'login', resourceType: 'user', resource: user, success: ok, description: ok ? 'signed in' : 'wrong user name or password' };
    } else yield { ...base, projectId: project, operation: ['create', 'update', 'delete'][Math.floor(r() * 3)]!, resourceType: ['member', 'robot', 'project'][Math.floor(r() * 3)]!, resource: `p${project}` };
  }
}

async function fill(log: AuditLog, db: Db, sqliteFile: boolean): Promise<void> {
  const t0 = performance.now();
  if (sqliteFile) {
    // Straight into SQLite in one transaction: the bench is about reading.
    const handle = sqliteHandle(db);
    const insert = handle.prepare(
      'insert into audit_logs (op_time, project_id, operation, resource_type, resource, principal_id, username, address, success, description, event_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    handle.transaction(() => {
      for (const x of records(ROWS)) insert.run(x.opTime, x.projectId, x.operation, x.resourceType, x.resource, x.principalId, x.username, x.address, x.success ? 1 : 0, x.description, x.eventId);
    })();
  } else {
    let chunk: AuditRecord[] = [];
    for (const x of records(ROWS)) {
      chunk.push(x);
      if (chunk.length === 5000) {
        await log.write(chunk);
        chunk = [];
      }
    }
    await log.write(chunk);
    // What autovacuum does after a load this size: statistics, and the visibility map that lets counts read the index alone.
    await sql`vacuum analyze audit_logs`.execute(db);
  }
  console.log(`filled ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** The database's plan of a page's query, one line per step. */
async function plan(db: Db, filter: AuditFilter, request: AuditPageRequest): Promise<string[]> {
  const query = pageQuery(db, filter, request);
  if (values.store === 'postgres') return (await query.explain()).map((r) => String(Object.values(r)[0]));
  const { sql: text, parameters } = query.compile();
  const rows = sqliteHandle(db).prepare(`explain query plan ${text}`).all(...(parameters as unknown[])) as Array<{ detail: string }>;
  return rows.map((r) => r.detail);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => Promise<unknown>): Promise<{ ms: number; max: number }> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), max: Math.max(...times) };
}

async function main(): Promise<void> {
  const dir = await tempDir('minato-bench-audit-');
  let pg: RunningPostgres | undefined;
  let db: Db;
  let close: () => Promise<void>;
  if (values.store === 'postgres') {
    pg = await startPostgres();
    const store = await openPostgresMetadata({ url: await pg.createDatabase(), maxConnections: 4, statementTimeoutSeconds: 0 });
    db = store.db;
    close = () => store.close();
  } else {
    db = await openSqlite(path.join(dir, 'minato.db'));
    close = () => db.destroy();
  }
  try {
    const log = new AuditLog(db);
    await fill(log, db, values.store !== 'postgres');
    const cursor = (await log.query({}, { pageSize: 100, page: 3000 })).next!;
    const cases: Array<[string, AuditFilter, Partial<AuditPageRequest>]> = [
      ['everything, page 1', {}, {}],
      ['everything, page 100 (offset 9,900)', {}, { page: 100 }],
      ['everything, after a cursor 300,000 rows deep', {}, { after: cursor }],
      ['everything, oldest first', {}, { order: 'oldest' }],
      ['the last day', { from: END - DAY }, {}],
      ['a hot project', { projectId: 1 }, {}],
      ['a rare project', { projectId: 990 }, {}],
      ['a rare project, page 3', { projectId: 990 }, { page: 3 }],
      ['a project in one week', { projectId: 5, from: END - 100 * DAY, to: END - 93 * DAY }, {}],
      ['a hot user', { username: 'user0' }, {}],
      ['a rare user', { username: 'user1990' }, {}],
      ['failed logins', { operation: 'login', success: false }, {}],
      ['every failure', { success: false }, {}],
      ['a rare user\'s failed logins', { username: 'user1990', operation: 'login', success: false }, {}],
      ['deletes of members, robots, projects', { operation: 'delete', resourceType: ['member', 'robot', 'project'] }, {}],
      ['one artifact (exact resource)', { resource: 'p1/app0:v0' }, {}],
      ['a rare artifact (exact resource)', { resource: 'p990/app0:v0' }, {}],
      ['resource prefix "p7/"', { resource: { prefix: 'p7/' } }, {}],
      ['resource contains "app19"', { resource: { contains: 'app19' } }, {}],
    ];
    for (const [label, filter, request] of cases) {
      const page = await time(() => log.query(filter, { pageSize: 100, ...request }).then((p) => p.items.length));
      const pageOnly = await time(() => log.page(filter, { pageSize: 100, ...request }));
      const count = await time(() => log.count(filter));
      const total = await log.count(filter);
      console.log(
        `${label.padEnd(48)} page ${pageOnly.ms.toFixed(1).padStart(7)} ms (max ${pageOnly.max.toFixed(1)})   count ${count.ms.toFixed(1).padStart(7)} ms   both ${page.ms.toFixed(1).padStart(7)} ms   total ${total}`,
      );
      const steps = await plan(db, filter, { pageSize: 100, ...request });
      for (const line of steps) console.log(`      plan: ${line}`);
      if (values.out) {
        const line = { store: values.store, rows: ROWS, case: label, filter, request, pageMs: pageOnly.ms, pageMaxMs: pageOnly.max, countMs: count.ms, countMaxMs: count.max, bothMs: page.ms, total, plan: steps };
        await appendFile(values.out, JSON.stringify(line) + '\n');
      }
    }
  } finally {
    await close();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
