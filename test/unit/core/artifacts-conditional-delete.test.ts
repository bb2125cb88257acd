// Artifacts.deleteManifest's `onlyIfTags` (what retention deletes with), on the real SQLite store:
// the delete happens when the manifest's tags are exactly those expected, and is rolled back when
// a tag was added since (the artifact and both tags stay, no event is written).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Artifacts, TagsChanged } from '../../../src/core/artifacts.js';
import { SYSTEM_ACTOR } from '../../../src/events/events.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite/sqlite-metadata-store.js';
import { Policies } from '../../../src/policy/policy.js';
import { FsBlobStore } from '../../../src/storage/filesystem/fs-blob-store.js';
import { sha256 } from '../../helpers/oci.js';
import { tempDir } from '../../helpers/registry.js';

let dir: string;
let meta: SqliteMetadataStore;
let fs: FsBlobStore;
let artifacts: Artifacts;
const caller = { actor: SYSTEM_ACTOR };

before(async () => {
  dir = await tempDir();
  meta = await SqliteMetadataStore.open(path.join(dir, 'minato.db'));
  fs = await FsBlobStore.open(dir, { directIO: false });
  artifacts = new Artifacts({ meta, blobs: fs, policies: new Policies({}), events: undefined as never, deleteEnabled: true, listable: () => true });
});
after(async () => {
  await meta.close();
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

/** A manifest with the given tags in `repository`, written straight through the store. */
async function manifestWith(repository: string, seed: string, tags: string[]): Promise<string> {
  const config = Buffer.from(`{"seed":"${seed}"}`);
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }));
  const digest = sha256(content);
  await meta.transaction(async (tx) => {
    await tx.linkBlob(repository, sha256(config), config.length);
    const record = { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, annotations: null, size: content.length, content };
    for (const tag of tags) await tx.putManifest(repository, record, [sha256(config)], tag);
  });
  return digest;
}

test('deleted when its tags are those expected, in any order', async () => {
  const digest = await manifestWith('p/app', 'a', ['v1', 'v2']);
  await artifacts.deleteManifest(caller, 'p/app', digest, { onlyIfTags: ['v2', 'v1'] });
  assert.equal(await meta.getManifest('p/app', digest), undefined);
});

test('a tag added since the plan: TagsChanged, and nothing is deleted', async () => {
  const digest = await manifestWith('p/app', 'b', ['v1']);
  await manifestWith('p/app', 'b', ['latest']); // the push that re-tagged it
  await assert.rejects(artifacts.deleteManifest(caller, 'p/app', digest, { onlyIfTags: ['v1'] }), (err: unknown) => err instanceof TagsChanged && err.tags.sort().join() === 'latest,v1');
  assert.ok(await meta.getManifest('p/app', digest), 'the manifest stays');
  assert.equal(await meta.transaction((tx) => tx.resolveTag('p/app', 'v1')), digest);
  assert.equal(await meta.transaction((tx) => tx.resolveTag('p/app', 'latest')), digest);
  // Without the condition, the same delete goes through.
  await artifacts.deleteManifest(caller, 'p/app', digest);
  assert.equal(await meta.getManifest('p/app', digest), undefined);
});
