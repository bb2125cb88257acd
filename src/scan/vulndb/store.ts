// Where imported vulnerability data lives (migration 0011_vulndb): one row per record, one per
// package it affects (looked up by package name when matching), and a row per import. Kysely, so
// one implementation runs on SQLite and PostgreSQL.
//
// Idempotency: a record is written only when it is new, or its normalised content differs and
// it is not older (by `modified`) than the stored one: importing the same file twice changes
// nothing the second time, and an old export cannot undo a newer one.
// Concurrency: each batch is one transaction; two imports of overlapping files converge (the
// last write of equal `modified` wins). Cost: a match reads the affected rows of the image's
// package names (one indexed query per 500 names).
import { createHash } from 'node:crypto';
import type { Generated, Kysely } from 'kysely';
import type { Db } from '../../metadata/db.js';
import { directWrites, type WriteGate } from '../../metadata/metadata-store.js';
import type { Affected, VulnRecord } from './model.js';

/** The tables of this module (not in metadata/schema.ts: no other module reads them). */
export type VulnTables = {
  vulndb_records: { source: string; key: string; id: string; modified: string; digest: string; withdrawn: string | null; record: string; imported_at: number };
  vulndb_affected: { id: Generated<number>; source: string; key: string; ecosystem: string; package: string; affected: string };
  vulndb_imports: {
    id: Generated<number>;
    format: string;
    file: string;
    started_at: number;
    finished_at: number | null;
    added: Generated<number>;
    updated: Generated<number>;
    unchanged: Generated<number>;
    rejected: Generated<number>;
    error: string | null;
  };
};

export type VulnDbHandle = Kysely<VulnTables>;

export interface UpsertCounts {
  added: number;
  updated: number;
  unchanged: number;
}

export interface ImportRow {
  id: number;
  format: string;
  file: string;
  startedAt: number;
  finishedAt?: number;
  added: number;
  updated: number;
  unchanged: number;
  rejected: number;
  error?: string;
}

export interface VulnDbStatus {
  sources: Array<{ source: string; records: number; withdrawn: number; packages: number }>;
  imports: ImportRow[];
}

/** A stored record with one of its affected packages: what the matcher evaluates. */
export type AffectedRecord = Omit<VulnRecord, 'affected'> & { affected: Affected };

const CHUNK = 500;

export class VulnDb {
  private readonly db: VulnDbHandle;

  constructor(
    db: Db,
    private readonly writes: WriteGate = directWrites,
  ) {
    this.db = db.withTables<VulnTables>() as unknown as VulnDbHandle;
  }

  /** Writes what is new or changed of a batch, in one transaction. */
  async upsert(records: readonly VulnRecord[]): Promise<UpsertCounts> {
    const counts: UpsertCounts = { added: 0, updated: 0, unchanged: 0 };
    if (records.length === 0) return counts;
    await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        // What is stored of the batch, in one query per source (a batch is usually of one).
        const stored = new Map<string, { digest: string; modified: string }>();
        for (const source of new Set(records.map((r) => r.source))) {
          const keys = records.filter((r) => r.source === source).map((r) => r.key);
          const rows = await trx.selectFrom('vulndb_records').select(['key', 'digest', 'modified']).where('source', '=', source).where('key', 'in', keys).execute();
          for (const row of rows) stored.set(`${source}\u0000${row.key}`, row);
        }
        for (const r of records) {
          const { affected, modified, ...rest } = r;
          const digest = createHash('sha256').update(JSON.stringify({ ...rest, affected })).digest('hex');
          const old = stored.get(`${r.source}\u0000${r.key}`);
          if (old && (old.digest === digest || (modified < old.modified && r.source === 'osv'))) {
            counts.unchanged++;
            continue;
          }
          const row = { id: r.id, modified, digest, withdrawn: r.withdrawn ?? null, record: JSON.stringify(rest), imported_at: Date.now() };
          stored.set(`${r.source}\u0000${r.key}`, { digest, modified }); // a record twice in one batch
          if (old) {
            await trx.updateTable('vulndb_records').set(row).where('source', '=', r.source).where('key', '=', r.key).execute();
            await trx.deleteFrom('vulndb_affected').where('source', '=', r.source).where('key', '=', r.key).execute();
            counts.updated++;
          } else {
            await trx.insertInto('vulndb_records').values({ source: r.source, key: r.key, ...row }).execute();
            counts.added++;
          }
          if (affected.length > 0) {
            await trx
              .insertInto('vulndb_affected')
              .values(affected.map((a) => ({ source: r.source, key: r.key, ecosystem: a.ecosystem, package: a.package, affected: JSON.stringify(a) })))
              .execute();
          }
        }
      }),
    );
    return counts;
  }

  /** The records affecting any of these package names (every ecosystem: the matcher filters), withdrawn ones left out. */
  async affecting(names: readonly string[]): Promise<AffectedRecord[]> {
    const unique = [...new Set(names)];
    const out: AffectedRecord[] = [];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('vulndb_affected as a')
        .innerJoin('vulndb_records as r', (j) => j.onRef('r.source', '=', 'a.source').onRef('r.key', '=', 'a.key'))
        .select(['r.source', 'r.key', 'r.id', 'r.modified', 'r.record', 'a.affected'])
        .where('a.package', 'in', unique.slice(i, i + CHUNK))
        .where('r.withdrawn', 'is', null)
        .execute();
      for (const row of rows) {
        const rest = JSON.parse(row.record) as Omit<VulnRecord, 'affected' | 'modified'>;
        out.push({ ...rest, source: row.source, key: row.key, id: row.id, modified: row.modified, affected: JSON.parse(row.affected) as Affected });
      }
    }
    return out;
  }

  async beginImport(format: string, file: string): Promise<number> {
    const row = await this.writes(() => this.db.insertInto('vulndb_imports').values({ format, file, started_at: Date.now() }).returning('id').executeTakeFirstOrThrow());
    return Number(row.id);
  }

  async finishImport(id: number, counts: UpsertCounts & { rejected: number }, error?: string): Promise<void> {
    await this.writes(() =>
      this.db
        .updateTable('vulndb_imports')
        .set({ finished_at: Date.now(), ...counts, error: error ?? null })
        .where('id', '=', id)
        .execute(),
    );
  }

  /** Records per source and the latest imports (newest first). */
  async status(limit = 10): Promise<VulnDbStatus> {
    const sources = await this.db
      .selectFrom('vulndb_records')
      .select((eb) => ['source', eb.fn.countAll<number>().as('records'), eb.fn.count<number>('withdrawn').as('withdrawn')])
      .groupBy('source')
      .orderBy('source')
      .execute();
    const packages = await this.db
      .selectFrom('vulndb_affected')
      .select((eb) => ['source', eb.fn.count<number>('package').distinct().as('packages')])
      .groupBy('source')
      .execute();
    const perSource = new Map(packages.map((p) => [p.source, Number(p.packages)]));
    const imports = await this.db.selectFrom('vulndb_imports').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return {
      sources: sources.map((s) => ({ source: s.source, records: Number(s.records), withdrawn: Number(s.withdrawn), packages: perSource.get(s.source) ?? 0 })),
      imports: imports.map((r) => ({
        id: Number(r.id),
        format: r.format,
        file: r.file,
        startedAt: Number(r.started_at),
        finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
        added: Number(r.added),
        updated: Number(r.updated),
        unchanged: Number(r.unchanged),
        rejected: Number(r.rejected),
        error: r.error ?? undefined,
      })),
    };
  }

  /** When data last changed (the newest finished import that wrote something), for re-matching. */
  async lastChange(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('vulndb_imports')
      .select('finished_at')
      .where('finished_at', 'is not', null)
      .where((eb) => eb.or([eb('added', '>', 0), eb('updated', '>', 0)]))
      .orderBy('finished_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.finished_at === null || row === undefined ? undefined : Number(row.finished_at);
  }
}
