// What the vulnerability gate reads per pull, in memory (policy/vulnerability.ts GatePolicySource):
// each project's gate settings (its metadata: prevent_vul, severity, prevent_vul_level,
// prevent_vul_unscanned, reuse_sys_cve_allowlist) and the CVE allowlists. Rebuilt after every
// change this process makes and when another process's change arrives through the outbox
// (project.changed, cve-allowlist.changed); each rebuild tells the gate to decide again.
// Expiry is checked per pull against the clock, so a list stops exempting the moment it expires.
import type { Db } from '../metadata/db.js';
import { gateSettings, type GatePolicySource, type GateSettings, type UnscannedAction } from '../policy/vulnerability.js';
import { CoalescedReload } from '../util/async.js';
import { isExpired, SYSTEM_ALLOWLIST, type AllowlistStore, type CveAllowlist } from './allowlist.js';

interface ProjectPolicy {
  settings: GateSettings;
  /** reuse_sys_cve_allowlist is not "false": the system's list applies. */
  reuseSystem: boolean;
  id: number;
}

const NONE = { ids: new Set<string>() as ReadonlySet<string> };

export class ScanPolicySnapshot implements GatePolicySource {
  private projects = new Map<string, ProjectPolicy>();
  private lists = new Map<number, { list: CveAllowlist; ids: ReadonlySet<string> }>();
  private readonly reloads = new CoalescedReload(() => this.load());
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly db: Db,
    private readonly allowlists: Pick<AllowlistStore, 'all'>,
    private readonly defaults: { unscanned: UnscannedAction },
  ) {}

  /** Called after every rebuild (the gate drops its decisions). */
  onReload(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Rebuilds from the database; resolves once a rebuild that started after this call is done. */
  reload(): Promise<void> {
    return this.reloads.run();
  }

  private async load(): Promise<void> {
    const rows = await this.db.selectFrom('projects').select(['id', 'name', 'metadata']).execute();
    const projects = new Map<string, ProjectPolicy>();
    for (const r of rows) {
      const metadata = JSON.parse(r.metadata) as Record<string, string>;
      projects.set(r.name, { id: Number(r.id), settings: gateSettings(metadata, this.defaults), reuseSystem: metadata.reuse_sys_cve_allowlist !== 'false' });
    }
    const lists = new Map((await this.allowlists.all()).map((l) => [l.projectId, { list: l, ids: new Set(l.items) }]));
    this.projects = projects;
    this.lists = lists;
    for (const l of this.listeners) l();
  }

  settings(project: string): GateSettings | undefined {
    return this.projects.get(project)?.settings;
  }

  allowed(project: string): { ids: ReadonlySet<string>; until?: number } {
    const p = this.projects.get(project);
    if (!p) return NONE;
    const entry = this.lists.get(p.reuseSystem ? SYSTEM_ALLOWLIST : p.id);
    if (!entry || isExpired(entry.list)) return NONE;
    return { ids: entry.ids, until: entry.list.expiresAt };
  }
}
