// Stored scan reports and inventories (migration 0012_scan_reports), one per artifact digest:
// the latest scan's status, scanner, times, summary and findings, and the package inventory the
// built-in scanner read from the layers (what re-matching after a feed import and SBOMs read, so
// the layers are read once per image).
//
// `ScanReports` is the ScanSummaries the pull gate asks before every manifest is served: reads
// are cached per digest for a few seconds (a change made in this process clears its entry at
// once; one made elsewhere, by another replica or by `minato vulndb import` re-matching, is seen
// within CACHE_MS). `inventories` is the Inventories view. Writes are one statement each; concurrent scans of one digest are the scan
// service's concern (it runs one at a time per digest).
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import { summarize, type Finding, type Inventories, type Inventory, type ScanSummaries, type ScanSummary } from './inventory.js';

export type ReportStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';

/** The tables of this module (not in metadata/schema.ts: only scan/ reads them). */
export type ScanTables = {
  scan_reports: {
    digest: string;
    repository: string;
    media_type: string;
    report_id: string;
    status: string;
    scanner: string;
    start_time: number;
    end_time: number | null;
    summary: string | null;
    findings: string | null;
    error: string | null;
  };
  scan_inventories: { digest: string; inventory: string; created_at: number };
};

export interface ScannerInfo {
  name: string;
  vendor: string;
  version: string;
}

/** A stored report, whole. */
export interface StoredReport {
  digest: string;
  repository: string;
  mediaType: string;
  reportId: string;
  status: ReportStatus;
  scanner: ScannerInfo;
  startTime: number;
  endTime?: number;
  findings: Finding[];
  summary?: ReturnType<typeof summarize>;
  error?: string;
}

const CACHE_MS = 5000;

export class ScanReports implements ScanSummaries {
  private readonly db: Kysely<ScanTables>;
  private readonly cache = new Map<string, { at: number; summary: ScanSummary | undefined }>();

  constructor(
    db: Db,
    private readonly writes: WriteGate = directWrites,
    private readonly now: () => number = Date.now,
  ) {
    this.db = db.withTables<ScanTables>() as unknown as Kysely<ScanTables>;
  }

  private readonly listeners: Array<(digest: string) => void> = [];

  /** Called after every change of a digest's report made here (the pull gate decides again). */
  onChange(listener: (digest: string) => void): void {
    this.listeners.push(listener);
  }

  private changed(digest: string): void {
    this.cache.delete(digest);
    for (const l of this.listeners) l(digest);
  }

  /** The summary of the latest scan of a digest (the pull gate's question: cached). */
  async get(digest: string): Promise<ScanSummary | undefined> {
    const hit = this.cache.get(digest);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.summary;
    const report = await this.report(digest);
    const summary = report && summaryOf(report);
    this.cache.set(digest, { at: this.now(), summary });
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    return summary;
  }

  /** The latest report of a digest, with its findings. */
  async report(digest: string): Promise<StoredReport | undefined> {
    const row = await this.db.selectFrom('scan_reports').selectAll().where('digest', '=', digest).executeTakeFirst();
    return row && reportOf(row);
  }

  /** The reports of several digests (an artifact listing's scan_overview), without findings. */
  async reports(digests: readonly string[]): Promise<Map<string, StoredReport>> {
    const out = new Map<string, StoredReport>();
    if (digests.length === 0) return out;
    const rows = await this.db
      .selectFrom('scan_reports')
      .select(['digest', 'repository', 'media_type', 'report_id', 'status', 'scanner', 'start_time', 'end_time', 'summary', 'error'])
      .where('digest', 'in', [...new Set(digests)])
      .execute();
    for (const row of rows) out.set(row.digest, reportOf({ ...row, findings: null }));
    return out;
  }

  async inventory(digest: string): Promise<Inventory | undefined> {
    const row = await this.db.selectFrom('scan_inventories').select('inventory').where('digest', '=', digest).executeTakeFirst();
    return row && (JSON.parse(row.inventory) as Inventory);
  }

  /** The stored inventories, as the SBOM writer reads them (ScanSummaries and Inventories both name their lookup `get`). */
  readonly inventories: Inventories = { get: (digest) => this.inventory(digest) };

  /** Every digest with a stored inventory, in pages (re-matching walks them all). */
  async inventoryDigests(after: string, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('scan_inventories').select('digest').where('digest', '>', after).orderBy('digest').limit(limit).execute();
    return rows.map((r) => r.digest);
  }

  /** A new scan of a digest: Pending, with a new report id (Harbor's report_id). */
  async begin(target: { digest: string; repository: string; mediaType: string }, scanner: ScannerInfo): Promise<string> {
    const reportId = randomUUID();
    const row = {
      repository: target.repository,
      media_type: target.mediaType,
      report_id: reportId,
      status: 'Pending',
      scanner: JSON.stringify(scanner),
      start_time: this.now(),
      end_time: null,
      summary: null,
      findings: null,
      error: null,
    };
    await this.writes(() =>
      this.db
        .insertInto('scan_reports')
        .values({ digest: target.digest, ...row })
        .onConflict((oc) => oc.column('digest').doUpdateSet(row))
        .execute(),
    );
    this.cache.delete(target.digest);
    return reportId;
  }

  /** Moves an unfinished report of this id on (one replaced by a newer scan, or finished, is left alone: false). */
  async setStatus(digest: string, reportId: string, status: ReportStatus, error?: string): Promise<boolean> {
    const done = status === 'Error' || status === 'Stopped';
    const r = await this.writes(() =>
      this.db
        .updateTable('scan_reports')
        .set({ status, ...(done ? { end_time: this.now(), error: error ?? null } : {}) })
        .where('digest', '=', digest)
        .where('report_id', '=', reportId)
        // A finished report stays as it ended.
        .where('status', 'in', ['Pending', 'Running'])
        .executeTakeFirst(),
    );
    this.changed(digest);
    return Number(r.numUpdatedRows) > 0;
  }

  /** The findings of a finished scan, and the inventory it matched (kept for re-matching). */
  async complete(digest: string, reportId: string, findings: Finding[], inventory?: Inventory): Promise<boolean> {
    const ok = await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('scan_reports')
          .set({ status: 'Success', end_time: this.now(), findings: JSON.stringify(findings), summary: JSON.stringify(summarize(findings)), error: null })
          .where('digest', '=', digest)
          .where('report_id', '=', reportId)
          .where('status', 'in', ['Pending', 'Running'])
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        if (inventory) {
          const row = { inventory: JSON.stringify(inventory), created_at: this.now() };
          await trx
            .insertInto('scan_inventories')
            .values({ digest, ...row })
            .onConflict((oc) => oc.column('digest').doUpdateSet(row))
            .execute();
        }
        return true;
      }),
    );
    this.changed(digest);
    return ok;
  }

  /** New findings for a stored inventory (after an import): written when they differ; true then. */
  async rematched(digest: string, findings: Finding[]): Promise<boolean> {
    const text = JSON.stringify(findings);
    const r = await this.writes(() =>
      this.db
        .updateTable('scan_reports')
        .set({ findings: text, summary: JSON.stringify(summarize(findings)) })
        .where('digest', '=', digest)
        .where('status', '=', 'Success')
        .where((eb) => eb.or([eb('findings', 'is', null), eb('findings', '!=', text)]))
        .executeTakeFirst(),
    );
    this.changed(digest);
    return Number(r.numUpdatedRows) > 0;
  }
}

function reportOf(row: ScanTables['scan_reports']): StoredReport {
  return {
    digest: row.digest,
    repository: row.repository,
    mediaType: row.media_type,
    reportId: row.report_id,
    status: row.status as ReportStatus,
    scanner: JSON.parse(row.scanner) as ScannerInfo,
    startTime: Number(row.start_time),
    endTime: row.end_time === null ? undefined : Number(row.end_time),
    findings: row.findings ? (JSON.parse(row.findings) as Finding[]) : [],
    summary: row.summary ? (JSON.parse(row.summary) as ReturnType<typeof summarize>) : undefined,
    error: row.error ?? undefined,
  };
}

/** The gate's view: a stopped scan is not a success (Harbor blocks on anything but Success). */
export function summaryOf(r: StoredReport): ScanSummary {
  const counts = r.summary ?? summarize([]);
  return {
    digest: r.digest,
    status: r.status === 'Stopped' ? 'Error' : r.status,
    ...counts,
    scanner: r.scanner,
    startTime: new Date(r.startTime).toISOString(),
    endTime: r.endTime === undefined ? undefined : new Date(r.endTime).toISOString(),
  };
}
