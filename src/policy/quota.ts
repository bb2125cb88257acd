// The storage quota, a decider at blobCommit and manifestPut: a push whose new bytes would take its
// project past its storage limit is refused with DENIED. What counts is metadata-store.ts's
// "Project usage": what the project does not hold yet is charged (a blob once per project, Harbor's
// rule), so a retag, a re-push or a mount inside the project costs nothing.
//
// The binding decision is taken inside the change's transaction, where the project's usage is
// locked (MetadataTx.projectQuota): concurrent pushes into one project decide one after the other
// and never both fit into the last free bytes. A blob is also asked about once before its bytes
// are committed to storage (no transaction: committed state), so that a blob that cannot fit is
// not stored at all. That early check is skipped for a project whose binding decision found no
// limit in the last few seconds: it would cost a database read per pushed blob for nothing, and
// should a limit have been set meanwhile, the binding decision still refuses (the blob's bytes
// then wait, unlinked, for garbage collection).
//
// Events: `quota.exceeded` for a refused push, through the batcher (the refused transaction rolls
// back, and its own events with it); `quota.warning` with the push that takes usage from below 85 %
// of the limit to 85 % or more: once per crossing, the next one after usage fell below again.
import { eventTime, type RegistryEvent } from '../events/events.js';
import type { MetadataStore, MetadataTx, ProjectQuota, StoredContent } from '../metadata/metadata-store.js';
import { projectOf } from '../oci/names.js';
import { describeSize } from '../util/size.js';
import { ALLOW, type Caller, type Decider, type Verdict } from './policy.js';

/** Share of the limit from which usage is worth a warning (Harbor's ResourcesWarningPercent). */
export const WARNING_SHARE = 0.85;

/** How long a binding decision that found no limit spares a project the early check. */
const NO_LIMIT_HINT_MS = 5000;
/** Projects remembered at most (the map is emptied beyond). */
const MAX_HINTS = 10_000;

export interface QuotaDeps {
  /** Committed state, for the check before a blob's bytes are stored. */
  meta: Pick<MetadataStore, 'projectQuota' | 'unheldBytes'>;
  /** Where `quota.exceeded` is written, on its own (the event batcher). */
  events: { add(event: RegistryEvent): void };
}

export function quotaDeciders(deps: QuotaDeps): { blobCommit: Decider<'blobCommit'>; manifestPut: Decider<'manifestPut'> } {
  /** When a binding decision last found the project without a limit. */
  const noLimitSeen = new Map<string, number>();

  function decide(caller: Caller, repository: string, what: string, content: StoredContent, tx: MetadataTx | undefined): Verdict | Promise<Verdict> {
    const project = projectOf(repository);
    if (!tx && Date.now() - (noLimitSeen.get(project) ?? -Infinity) < NO_LIMIT_HINT_MS) return ALLOW;
    return check(caller, project, repository, what, content, tx);
  }

  async function check(caller: Caller, project: string, repository: string, what: string, content: StoredContent, tx: MetadataTx | undefined): Promise<Verdict> {
    const reader = tx ?? deps.meta;
    const quota = await reader.projectQuota(project);
    if (quota.limit < 0 || quota.projectId === undefined) {
      if (tx) {
        if (noLimitSeen.size >= MAX_HINTS) noLimitSeen.clear();
        noLimitSeen.set(project, Date.now());
      }
      return ALLOW;
    }
    if (tx) noLimitSeen.delete(project);
    const adding = await reader.unheldBytes(project, content);
    if (adding === 0) return ALLOW;
    const after = quota.used + adding;
    const event = { at: eventTime(), actor: caller.actor, project, projectId: quota.projectId, limitBytes: quota.limit, repository };
    if (after > quota.limit) {
      deps.events.add({ type: 'quota.exceeded', ...event, usedBytes: quota.used });
      return { ok: false, code: 'DENIED', message: refusal(quota, what, adding) };
    }
    const threshold = quota.limit * WARNING_SHARE;
    if (tx && quota.used < threshold && after >= threshold) await tx.appendEvents([{ type: 'quota.warning', ...event, usedBytes: after }]);
    return ALLOW;
  }
  return {
    blobCommit: {
      name: 'quota',
      decide: (caller, c, tx) => decide(caller, c.repository, 'this blob', { blobs: [{ digest: c.digest, size: c.size }] }, tx),
    },
    manifestPut: {
      name: 'quota',
      decide: (caller, c, tx) =>
        decide(caller, c.repository, 'this manifest (with the blobs it references that the project does not hold)', { blobs: c.blobs, manifest: { digest: c.digest, size: c.size } }, tx),
    },
  };
}

/** Harbor's refusal in words: which project, its limit and usage, what did not fit, what to do. */
function refusal(quota: ProjectQuota, what: string, adding: number): string {
  return (
    `the storage quota of project ${quota.project} does not allow this push: ${what} adds ${describeSize(adding)}, ` +
    `and the project already uses ${describeSize(quota.used)} of its ${describeSize(quota.limit)} limit. ` +
    `Delete images or blobs from ${quota.project}, or ask a system administrator to raise its quota`
  );
}
