// regbench's tags-list scenario in a loop, for comparing servers with less noise than one bench
// run gives: ROUNDS times (5000 tag PUTs at C=32, then 3 paginated listings at n=100), with
// regbench's own client library. Prints the median listing of each round and their median.
//
//   node dist/bench/tags-latency.js URL [USER PASSWORD] [ROUNDS]
//   e.g. against minato and against the do-nothing server, alternately:
//   node dist/bench/tags-latency.js http://127.0.0.1:5123 bench PW 8
//   node dist/bench/tags-latency.js http://127.0.0.1:5124 '' '' 8
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [url, user, password, rounds = '8'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: tags-latency URL [USER PASSWORD] [ROUNDS]\n');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const regbench = process.env.REGBENCH ?? path.resolve(root, '../shared/regbench');
const lib = (name: string) => import(pathToFileURL(path.join(regbench, 'lib', name)).href);
const { RegistryClient } = await lib('http.mjs');
const oci = await lib('oci.mjs');

const client = new RegistryClient(url, user ? { user, password } : {});
const repo = 'regbench/tags';
const config = oci.configBlob('tags');
const layer = { buf: oci.fixedBuffer(1024, 'regbench-tags-layer') as Buffer, digest: '', size: 1024 };
layer.digest = oci.sha256(layer.buf);
await oci.ensureBlob(client, repo, config.buf, config.digest);
await oci.ensureBlob(client, repo, layer.buf, layer.digest);
const manifest = oci.ociManifest(config, [layer]);
const tags = Array.from({ length: 5000 }, (_, i) => `t${String(i).padStart(6, '0')}`);

const medians: number[] = [];
for (let round = 0; round < Number(rounds); round++) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < tags.length) await oci.putManifest(client, repo, tags[next++], manifest);
    }),
  );
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const { items } = await oci.listAll(client, `/v2/${repo}/tags/list`, 'tags', 100);
    times.push(performance.now() - t0);
    if (items.length !== tags.length) throw new Error(`listed ${items.length} tags, expected ${tags.length}`);
  }
  medians.push(times.sort((a, b) => a - b)[1]!);
}
const sorted = [...medians].sort((a, b) => a - b);
console.log(`${url}: median ${sorted[sorted.length >> 1]!.toFixed(1)} ms; per round ${medians.map((m) => m.toFixed(1)).join(' ')}`);
await client.pool.close();
