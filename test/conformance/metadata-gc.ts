// The garbage collection part of the MetadataStore contract (metadata-store.ts, "Garbage
// collection"), registered against every implementation by metadata-gc.test.ts: what a mark
// takes and leaves, the journal's moves, a commit's claim in each state (rescue, refuse, a
// deletion that ended before the bytes were stored), the manifest put's re-check, the
// collectable-manifest rules, and a mark racing commits of the same blobs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManifestRecord, MetadataStore } from '../../src/metadata/metadata-store.js';
import { sha256 } from '../helpers/oci.js';

export interface GcStoreImplementation {
  name: string;
  open(): Promise<MetadataStore>;
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const blob = (seed: string) => sha256(`blob ${seed}`);

function manifest(seed: string, extra: Partial<ManifestRecord> = {}): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, seed }));
  return { digest: sha256(content), mediaType: MANIFEST_TYPE, artifactType: null, subject: null, annotations: null, size: content.length, content, ...extra };
}

const FUTURE = Date.now() + 3_600_000;

export function metadataGcConformance(impl: GcStoreImplementation): void {
  describe(`MetadataStore garbage collection: ${impl.name}`, () => {
    const withStore = async (fn: (store: MetadataStore) => Promise<void>) => {
      const store = await impl.open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };

    it('marks only blobs nothing holds or references; a mark takes the metadata, keeps the size, and the journal moves marked -> deleting -> deleted', async () => {
      await withStore(async (store) => {
        const [held, released, referenced, orphan] = ['held', 'released', 'referenced', 'orphan'].map(blob) as [string, string, string, string];
        const m = manifest('m');
        await store.transaction(async (tx) => {
          await tx.linkBlob('p/a', held, 10);
          await tx.linkBlob('p/a', released, 20);
          await tx.linkBlob('p/a', referenced, 30);
          await tx.linkBlob('p/b', orphan, 40);
          await tx.putManifest('p/a', m, [released]);
          await tx.putManifest('p/a', manifest('keeps'), [referenced], 'v1');
        });
        await store.transaction(async (tx) => {
          await tx.deleteManifest('p/a', m.digest); // releases `released`
          await tx.unlinkBlob('p/b', orphan);
        });
        const used = (await store.projectQuota('p')).used;
        const marked = await store.transaction((tx) => tx.markBlobs([held, released, referenced, orphan], 7));
        assert.deepEqual(marked.map((b) => b.digest).sort(), [released, orphan].sort());
        assert.equal(marked.find((b) => b.digest === released)!.size, 20);
        assert.equal((await store.projectQuota('p')).used, used, 'released links and unlinked blobs counted nothing: the usage stays');
        assert.equal(await store.repositoryBlobSize('p/a', held), 10);
        assert.equal(await store.repositoryBlobSize('p/a', referenced), 30);
        assert.equal((await store.blobSizes('p/a', [released])).size, 0, 'the released link is gone with the mark');
        assert.deepEqual(await store.blobDeletion(released), { state: 'marked', seq: null });
        assert.equal(await store.blobDeletion(held), undefined);

        const deleting = await store.transaction((tx) => tx.startDeleting([released, orphan, held], 42));
        assert.deepEqual(deleting.map((b) => b.digest).sort(), [released, orphan].sort());
        assert.deepEqual(await store.blobDeletion(orphan), { state: 'deleting', seq: 42 });
        assert.deepEqual(await store.transaction((tx) => tx.startDeleting([orphan], 43)), [], 'a compare-and-set: only marked rows move');
        await store.transaction((tx) => tx.finishDeleting([released, orphan]));
        assert.deepEqual(await store.blobDeletion(orphan), { state: 'deleted', seq: 42 });
        assert.equal(await store.transaction((tx) => tx.pruneDeletions(Date.now() - 60_000)), 0, 'young rows stay');
        assert.equal(await store.transaction((tx) => tx.pruneDeletions(Date.now() + 1)), 2);
        assert.equal(await store.blobDeletion(orphan), undefined);
      });
    });

    it('a commit rescues a marked blob, is refused while it is deleting or after another deletion, and is fine after a deletion that ended before it stored the bytes', async () => {
      await withStore(async (store) => {
        const d = blob('claimed');
        await store.transaction((tx) => tx.linkBlob('p/a', d, 5));
        await store.transaction((tx) => tx.unlinkBlob('p/a', d));
        await store.transaction((tx) => tx.markBlobs([d], 1));

        // marked: rescued (the row goes, linkBlob makes the blob again).
        const seenMarked = await store.blobDeletion(d);
        assert.equal(await store.transaction(async (tx) => {
          const ok = await tx.claimBlob('p/b', d, seenMarked);
          if (ok) await tx.linkBlob('p/b', d, 5);
          return ok;
        }), true);
        assert.equal(await store.blobDeletion(d), undefined);
        assert.equal(await store.repositoryBlobSize('p/b', d), 5);

        // deleting: refused, whatever was seen before.
        await store.transaction((tx) => tx.unlinkBlob('p/b', d));
        await store.transaction((tx) => tx.markBlobs([d], 2));
        const seenBefore = await store.blobDeletion(d);
        await store.transaction((tx) => tx.startDeleting([d], 100));
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, seenBefore)), false);
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, undefined)), false);

        // deleted by the deletion seen before the commit: the bytes are the commit's. Deleted, but
        // seen as anything else (marked, deleting, none): refused.
        await store.transaction((tx) => tx.finishDeleting([d]));
        const seenDeleted = await store.blobDeletion(d);
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, seenBefore)), false, 'it was marked when seen: deleted since, maybe after the bytes were stored');
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, { state: 'deleted', seq: 99 })), false, 'another deletion');
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, seenDeleted)), true);
        assert.equal(await store.blobDeletion(d), undefined, 'the blob lives again');
        // Seen deleting, and the row gone since: refused (the bytes may be gone).
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', d, { state: 'deleting', seq: 100 })), false);
        // No row, nothing seen: fine.
        assert.equal(await store.transaction((tx) => tx.claimBlob('p/b', blob('fresh'), undefined)), true);
      });
    });

    it('orphans (bytes no blobs row knows) are marked with their size; a known blob or one in a deletion is not; a commit meanwhile rescues one', async () => {
      await withStore(async (store) => {
        const [known, orphan, rescued, inProgress, again] = ['known', 'orphan', 'rescued', 'in-progress', 'again'].map(blob) as [string, string, string, string, string];
        await store.transaction((tx) => tx.linkBlob('p/a', known, 1));
        await store.transaction((tx) => tx.linkBlob('p/a', inProgress, 4));
        await store.transaction((tx) => tx.unlinkBlob('p/a', inProgress));
        await store.transaction((tx) => tx.markBlobs([inProgress], 1));
        await store.transaction((tx) => tx.startDeleting([inProgress], 7));
        const marked = await store.transaction((tx) =>
          tx.markOrphans([{ digest: known, size: 1 }, { digest: orphan, size: 2 }, { digest: rescued, size: 3 }, { digest: inProgress, size: 4 }, { digest: orphan, size: 2 }], 9),
        );
        assert.deepEqual(marked.sort((a, b) => a.size - b.size), [{ digest: orphan, size: 2 }, { digest: rescued, size: 3 }]);
        assert.equal(await store.blobDeletion(known), undefined, 'a blob the metadata knows is not an orphan');
        assert.deepEqual(await store.blobDeletion(inProgress), { state: 'deleting', seq: 7 }, 'a deletion in progress is left to its run');
        // A push of the same bytes commits before the delete starts: rescued, and never deleted.
        const seen = await store.blobDeletion(rescued);
        assert.equal(await store.transaction(async (tx) => (await tx.claimBlob('p/b', rescued, seen)) && (await tx.linkBlob('p/b', rescued, 3), true)), true);
        const deleting = await store.transaction((tx) => tx.startDeleting([orphan, rescued], 11));
        assert.deepEqual(deleting, [{ digest: orphan, size: 2 }]);
        assert.equal(await store.repositoryBlobSize('p/b', rescued), 3);
        // Once deleted, the same bytes orphaned again are marked again.
        await store.transaction((tx) => tx.finishDeleting([orphan]));
        assert.deepEqual(await store.transaction((tx) => tx.markOrphans([{ digest: orphan, size: 2 }, { digest: again, size: 5 }], 12)).then((m) => m.map((b) => b.digest).sort()), [orphan, again].sort());
      });
    });

    it('a manifest put sees what GC took: missingReferences names the blobs and child manifests the repository lacks', async () => {
      await withStore(async (store) => {
        const [a, b] = [blob('a'), blob('b')];
        const child = manifest('child');
        await store.transaction(async (tx) => {
          await tx.linkBlob('p/r', a, 1);
          await tx.putManifest('p/r', child, [a]);
        });
        const missing = await store.transaction(async (tx) => tx.missingReferences('p/r', [a, b], [child.digest, manifest('nope').digest]));
        assert.deepEqual(missing.sort(), [b, manifest('nope').digest].sort());
        // A released link is held again by the put, and then not missing.
        const m = manifest('holder');
        await store.transaction(async (tx) => {
          await tx.linkBlob('p/r', b, 2);
          await tx.putManifest('p/r', m, [b]);
        });
        await store.transaction((tx) => tx.deleteManifest('p/r', m.digest));
        assert.deepEqual(await store.transaction(async (tx) => {
          await tx.putManifest('p/r', m, [b]);
          return tx.missingReferences('p/r', [b], []);
        }), []);
      });
    });

    it('collectable manifests: untagged, no index child, no referrer of a present subject, old enough; unreferenced links past the grace window', async () => {
      await withStore(async (store) => {
        const [tagged, untagged, child, index, subject, referrer, orphanReferrer] = ['tagged', 'untagged', 'child', 'index', 'subject', 'referrer', 'orphan'].map((s) => manifest(s));
        const ref = { ...referrer!, subject: subject!.digest };
        const lost = { ...orphanReferrer!, subject: manifest('gone').digest };
        await store.transaction(async (tx) => {
          await tx.putManifest('p/r', tagged!, [], 'v1');
          await tx.putManifest('p/r', untagged!, []);
          await tx.putManifest('p/r', child!, []);
          await tx.putManifest('p/r', index!, [child!.digest], 'multi');
          await tx.putManifest('p/r', subject!, [], 'signed');
          await tx.putManifest('p/r', ref, []);
          await tx.putManifest('p/r', lost, []);
        });
        const collectable = async (m: ManifestRecord, before = FUTURE) => store.transaction((tx) => tx.manifestCollectable('p/r', m.digest, before));
        assert.equal(await collectable(tagged!), false);
        assert.equal(await collectable(untagged!), true);
        assert.equal(await collectable(untagged!, Date.now() - 3_600_000), false, 'younger than the minimum age');
        assert.equal(await collectable(child!), false, "an index's child");
        assert.equal(await collectable(ref), false, 'a referrer of a subject that is there');
        assert.equal(await collectable(lost), true, 'a referrer whose subject is gone');

        const [kept, free, fresh] = [blob('kept'), blob('free'), blob('fresh')];
        await store.transaction(async (tx) => {
          await tx.linkBlob('p/r', kept, 1);
          await tx.linkBlob('p/r', free, 2);
          await tx.putManifest('p/r', manifest('uses kept'), [kept], 'k');
        });
        const cutoff = Date.now() + 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.transaction((tx) => tx.linkBlob('p/r', fresh, 3));
        const before = (await store.projectQuota('p')).used;
        const gone = await store.transaction((tx) => tx.unlinkUnreferenced('p/r', [kept, free, fresh], cutoff));
        assert.deepEqual(gone, [free]);
        assert.equal((await store.projectQuota('p')).used, before - 2, 'counted as a blob DELETE');
        assert.equal(await store.repositoryBlobSize('p/r', fresh), 3, 'inside the grace window');
      });
    });

    it('a link held again after a release counts its grace window from then', async () => {
      await withStore(async (store) => {
        const d = blob('again');
        const m = manifest('again');
        await store.transaction(async (tx) => {
          await tx.linkBlob('p/r', d, 1);
          await tx.putManifest('p/r', m, [d]);
        });
        await store.transaction((tx) => tx.deleteManifest('p/r', m.digest));
        const cutoff = Date.now() + 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.transaction((tx) => tx.linkBlob('p/r', d, 1)); // pushed again, before its manifest comes
        assert.deepEqual(await store.transaction((tx) => tx.unlinkUnreferenced('p/r', [d], cutoff)), []);
      });
    });

    it('marks racing commits of the same blobs: every commit that claims keeps a blob no mark takes', async () => {
      await withStore(async (store) => {
        const digests = Array.from({ length: 40 }, (_, i) => blob(`race ${i}`));
        await store.transaction(async (tx) => {
          for (const d of digests) await tx.linkBlob('p/old', d, 1);
        });
        await store.transaction(async (tx) => {
          for (const d of digests) await tx.unlinkBlob('p/old', d);
        });
        const claimed: string[] = [];
        const commits = digests.map(async (d, i) => {
          const seen = await store.blobDeletion(d);
          const ok = await store.transaction(async (tx) => {
            if (!(await tx.claimBlob(`p/new${i % 4}`, d, seen))) return false;
            await tx.linkBlob(`p/new${i % 4}`, d, 1);
            return true;
          });
          if (ok) claimed.push(d);
        });
        const marks = [0, 10, 20, 30].map((i) => store.transaction((tx) => tx.markBlobs(digests.slice(i, i + 10), 9)));
        await Promise.all([...commits, ...marks]);
        const sweeping = await store.transaction((tx) => tx.startDeleting(digests, 5));
        const swept = new Set(sweeping.map((b) => b.digest));
        for (const d of claimed) {
          assert.equal(swept.has(d), false, `${d} was claimed by a commit and must not be deleted`);
          assert.ok((await store.repositoriesWithBlob(d, 1)).length === 1, `${d} is held`);
        }
        assert.equal(claimed.length + swept.size, digests.length, 'each blob was either claimed or marked');
      });
    });
  });
}
