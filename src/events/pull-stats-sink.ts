// Pull counts and last pull times without a write per pull: the registry records pulls as
// artifact.pulled events, which the event batcher already writes in batches (a count per
// repository and digest), and this fleet sink folds each delivered batch into artifact_pulls in
// one transaction. Repository.pull_count and Artifact.pull_time are read from there.
//
// Delivery is at least once; the sink remembers the last event id it folded (in event_cursors,
// in the same transaction as the counts), so a batch delivered again is not counted twice.
import { sql } from 'kysely';
import type { Db } from '../metadata/db.js';
import { directWrites, type WriteGate } from '../metadata/metadata-store.js';
import type { EventSink, StoredEvent } from './events.js';

/** The event_cursors row holding the last event folded (beside the dispatcher's own "pull-stats"). */
const APPLIED = 'pull-stats.applied';

export class PullStatsSink implements EventSink {
  readonly name = 'pull-stats';
  readonly scope = 'fleet';

  constructor(
    private readonly db: Db,
    /** Writes wait for the metadata store's writer (MetadataStore.outsideTransactions). */
    private readonly writes: WriteGate = directWrites,
  ) {}

  async deliver(batch: readonly StoredEvent[]): Promise<void> {
    const pulls = batch.filter((e): e is Extract<StoredEvent, { type: 'artifact.pulled' }> => e.type === 'artifact.pulled');
    if (pulls.length === 0) return;
    await this.writes(() => this.db.transaction().execute(async (trx) => {
      const applied = Number((await trx.selectFrom('event_cursors').select('last_id').where('sink', '=', APPLIED).executeTakeFirst())?.last_id ?? 0);
      const fresh = pulls.filter((e) => e.id > applied);
      if (fresh.length === 0) return;
      // One row per repository and digest, whatever the batch holds.
      const folded = new Map<string, { repository: string; digest: string; count: number; at: number }>();
      for (const e of fresh) {
        const key = `${e.repository}@${e.digest}`;
        const at = Date.parse(e.at);
        const f = folded.get(key);
        if (f) {
          f.count += e.count;
          f.at = Math.max(f.at, at);
        } else folded.set(key, { repository: e.repository, digest: e.digest, count: e.count, at });
      }
      const names = [...new Set([...folded.values()].map((f) => f.repository))];
      const ids = new Map((await trx.selectFrom('repositories').select(['id', 'name']).where('name', 'in', names).execute()).map((r) => [r.name, Number(r.id)]));
      const rows = [...folded.values()].flatMap((f) => {
        const id = ids.get(f.repository);
        return id === undefined ? [] : [{ repository_id: id, digest: f.digest, pull_count: f.count, pull_time: f.at }];
      });
      if (rows.length > 0) {
        await trx
          .insertInto('artifact_pulls')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['repository_id', 'digest']).doUpdateSet({
              pull_count: sql`artifact_pulls.pull_count + excluded.pull_count`,
              pull_time: sql`case when excluded.pull_time > artifact_pulls.pull_time then excluded.pull_time else artifact_pulls.pull_time end`,
            }),
          )
          .execute();
      }
      const last = fresh[fresh.length - 1]!.id;
      await trx
        .insertInto('event_cursors')
        .values({ sink: APPLIED, last_id: last })
        .onConflict((oc) => oc.column('sink').doUpdateSet({ last_id: last }))
        .execute();
    }));
  }
}
