// regbench's tags-list scenario, step by step, with regbench's own client library, for the tools
// that time it outside a regbench run (tags-servers.ts): push N tags (regbench:
// 5000) of one image at concurrency 32, then list them at n=100 following the Link headers.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PAGE = 100;
export const DEFAULT_TAG_COUNT = 5000;

/** One repository per tag count, so listings of different sizes can share a server. */
export interface TagSet {
  tags: string[];
  repo: string;
  /** The listing path, `/v2/<repo>/tags/list`. */
  list: string;
}

/** regbench's names (t000000, t000001, ...) in regbench/tags for 5000, regbench/tags-N otherwise. */
export function tagSet(count = DEFAULT_TAG_COUNT): TagSet {
  const repo = count === DEFAULT_TAG_COUNT ? 'regbench/tags' : `regbench/tags-${count}`;
  return { tags: Array.from({ length: count }, (_, i) => `t${String(i).padStart(6, '0')}`), repo, list: `/v2/${repo}/tags/list` };
}

/** Sequential GETs a listing at n=PAGE takes for `count` tags (the last one confirms the end). */
export const pagesFor = (count: number): number => Math.floor(count / PAGE) + 1;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const regbenchDir = process.env.REGBENCH ?? path.resolve(root, '../shared/regbench');
const lib = (name: string) => import(pathToFileURL(path.join(regbenchDir, 'lib', name)).href);
const { RegistryClient } = await lib('http.mjs');
const oci = await lib('oci.mjs');

export interface Client {
  close(): Promise<void>;
}

export function client(url: string, user?: string, password?: string): Client {
  return new RegistryClient(url, user ? { user, password } : {}) as Client;
}

/** The scenario's image (a config and one 1 KiB layer) under every tag of the set, at concurrency 32. */
export async function pushTags(c: Client, set: TagSet = tagSet()): Promise<void> {
  const config = oci.configBlob('tags');
  const layer = { buf: oci.fixedBuffer(1024, 'regbench-tags-layer') as Buffer, digest: '', size: 1024 };
  layer.digest = oci.sha256(layer.buf);
  await oci.ensureBlob(c, set.repo, config.buf, config.digest);
  await oci.ensureBlob(c, set.repo, layer.buf, layer.digest);
  const manifest = oci.ociManifest(config, [layer]);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < set.tags.length) await oci.putManifest(c, set.repo, set.tags[next++], manifest);
  }));
}

/** Milliseconds to list every tag of the set at n=100; throws unless all came back. */
export async function listTags(c: Client, set: TagSet = tagSet()): Promise<number> {
  const t0 = performance.now();
  const { items } = await oci.listAll(c, set.list, 'tags', PAGE, pagesFor(set.tags.length) + 1);
  const ms = performance.now() - t0;
  if (items.length !== set.tags.length) throw new Error(`listed ${items.length} tags, expected ${set.tags.length}`);
  return ms;
}

/** Median of three listings, as regbench reports one run. */
export async function medianOfThree(c: Client, set: TagSet = tagSet()): Promise<number> {
  return median([await listTags(c, set), await listTags(c, set), await listTags(c, set)]);
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
