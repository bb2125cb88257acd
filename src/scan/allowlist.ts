// CVE allowlists (Harbor's CVEAllowlist, src/pkg/allowlist; harbor-layer.md §1.12): the system's
// (project 0) and one per project. A project uses its own list only when its metadata says
// `reuse_sys_cve_allowlist` = "false"; otherwise the system's applies. An expired list is ignored
// entirely (not item by item). Harbor's validation: no empty or whitespace ids, no duplicates.
//
// The store writes with Kysely (one implementation for SQLite and PostgreSQL) and records a
// `cve-allowlist.changed` event in the change's transaction, so every process's gate decides
// again (scan/allowlist-policy.ts). Cost: lists are read all at once into that snapshot; nothing
// here runs on a pull.
import { eventTime, type Actor } from '../events/events.js';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import { appendToOutbox } from '../metadata/outbox.js';
import { invalid } from '../util/domain-error.js';

/** The system's allowlist's project id, as in Harbor. */
export const SYSTEM_ALLOWLIST = 0;

export interface CveAllowlist {
  projectId: number;
  /** Unix milliseconds; undefined: never expires. */
  expiresAt?: number;
  items: string[];
  createdAt?: number;
  updatedAt?: number;
}

/** Harbor's validator: every id non-empty without whitespace, no id twice. Throws INVALID. */
export function validateAllowlist(items: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const id of items) {
    if (id.length === 0 || /\s/.test(id)) throw invalid(`the CVE id ${JSON.stringify(id)} is empty or contains whitespace: give ids such as CVE-2024-3094`);
    if (seen.has(id)) throw invalid(`the CVE id ${id} is listed twice: list each id once`);
    seen.add(id);
  }
  return [...seen];
}

/** Whether the list is expired at `now` (then it exempts nothing). */
export function isExpired(list: Pick<CveAllowlist, 'expiresAt'>, now = Date.now()): boolean {
  return list.expiresAt !== undefined && list.expiresAt <= now;
}

export class AllowlistStore {
  private readonly listeners: Array<() => void | Promise<void>> = [];

  constructor(
    private readonly db: Db,
    /** Names this process in the events it writes, so that it does not apply them twice. */
    readonly origin: string,
    private readonly writes: WriteGate = directWrites,
  ) {}

  /** Called after every change this process committed (the change returns once they are done). */
  onChange(listener: () => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Every stored list (the system's and the projects'). */
  async all(): Promise<CveAllowlist[]> {
    const rows = await this.db.selectFrom('cve_allowlists').selectAll().execute();
    return rows.map(toList);
  }

  /** A project's list (or the system's, SYSTEM_ALLOWLIST); an empty never-expiring one when none was stored. */
  async get(projectId: number): Promise<CveAllowlist> {
    const row = await this.db.selectFrom('cve_allowlists').selectAll().where('project_id', '=', projectId).executeTakeFirst();
    return row ? toList(row) : { projectId, items: [] };
  }

  /** Replaces a list (validated here); `project` names it in the event. */
  async put(list: CveAllowlist, actor: Actor, project?: string): Promise<CveAllowlist> {
    const items = validateAllowlist(list.items);
    const now = Date.now();
    await this.writes(() =>
      this.db.transaction().execute(async (trx) => {
        const values = { expires_at: list.expiresAt ?? null, items: JSON.stringify(items), updated_at: now };
        const r = await trx.updateTable('cve_allowlists').set(values).where('project_id', '=', list.projectId).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) await trx.insertInto('cve_allowlists').values({ ...values, project_id: list.projectId, created_at: now }).execute();
        await appendToOutbox(trx, [{ type: 'cve-allowlist.changed', at: eventTime(), actor, projectId: list.projectId, project, origin: this.origin }]);
      }),
    );
    await Promise.all(this.listeners.map((l) => l()));
    return this.get(list.projectId);
  }
}

function toList(row: { project_id: number; expires_at: number | null; items: string; created_at: number; updated_at: number }): CveAllowlist {
  return {
    projectId: Number(row.project_id),
    expiresAt: row.expires_at === null ? undefined : Number(row.expires_at),
    items: JSON.parse(row.items) as string[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
