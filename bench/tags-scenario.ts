// regbench's tags-list scenario, step by step, with regbench's own client library, for the tools
// that time it outside a regbench run (tags-latency.ts, tags-servers.ts): push 5000 tags at
// concurrency 32, then list them at n=100 following the Link headers.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TAGS = Array.from({ length: 5000 }, (_, i) => `t${String(i).padStart(6, '0')}`);
export const PAGE = 100;
export const REPO = 'regbench/tags';
export const LIST = `/v2/${REPO}/tags/list`;

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

/** The scenario's image (a config and one 1 KiB layer) and its 5000 tags, at concurrency 32. */
export async function pushTags(c: Client): Promise<void> {
  const config = oci.configBlob('tags');
  const layer = { buf: oci.fixedBuffer(1024, 'regbench-tags-layer') as Buffer, digest: '', size: 1024 };
  layer.digest = oci.sha256(layer.buf);
  await oci.ensureBlob(c, REPO, config.buf, config.digest);
  await oci.ensureBlob(c, REPO, layer.buf, layer.digest);
  const manifest = oci.ociManifest(config, [layer]);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < TAGS.length) await oci.putManifest(c, REPO, TAGS[next++], manifest);
  }));
}

/** Milliseconds to list every tag at n=100; throws unless all 5000 came back. */
export async function listTags(c: Client): Promise<number> {
  const t0 = performance.now();
  const { items } = await oci.listAll(c, LIST, 'tags', PAGE);
  const ms = performance.now() - t0;
  if (items.length !== TAGS.length) throw new Error(`listed ${items.length} tags, expected ${TAGS.length}`);
  return ms;
}

/** Median of three listings, as regbench reports one run. */
export async function medianOfThree(c: Client): Promise<number> {
  return median([await listTags(c), await listTags(c), await listTags(c)]);
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
