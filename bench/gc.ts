// Garbage collection: minato's online GC against CNCF Distribution's offline
// `docker-registry garbage-collect --delete-untagged`, on the same content on this machine
// (docs/benchmarks.md, "Garbage collection"). Both registries get, over HTTP:
//   REPOS repositories x MANIFESTS image manifests (a config and one layer each, all distinct,
//   small), plus ORPHANS blobs per repository that no manifest references; then DELETED manifests
//   per repository are deleted, so half of all blobs are garbage.
// Distribution is then stopped (its GC is offline) and `garbage-collect` timed. minato keeps
// serving a steady load (PULLERS clients pulling kept images, one client pushing new ones) while
// its GC runs through the API; the load's latency is recorded before and during the run. Both
// results are checked: the garbage blobs are gone from disk, every kept image pulls whole.
// Writes one JSON line (bench/out/ by default) and a table. Everything started is stopped by PID.
//
//   npm run build && node dist/bench/gc.js [--repos 2000] [--manifests 10] [--deleted 4]
//       [--orphans 5] [--concurrency 16] [--label NAME] [--out DIR] [--skip-distribution] [--skip-minato]
//       [--distribution-data DIR]   Distribution's populated content: made there on the first run,
//                                   reused (copied, then collected) by later ones
//       [--minato-data DIR]         the same for minato's (its data directory, the server stopped)
//       [--minato-node-args "..."]  node flags for minato's server (e.g. --cpu-prof --cpu-prof-dir=DIR)
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { stamp, startDistribution, startMinato, stopPid, type NodeServer } from './processes.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Only regbench's Distribution script is used (it needs none of regbench's npm dependencies).
const regbenchDir = path.resolve(root, '..', 'shared', 'regbench');
const { values: opts } = parseArgs({
  options: {
    repos: { type: 'string', default: '2000' },
    manifests: { type: 'string', default: '10' },
    deleted: { type: 'string', default: '4' },
    orphans: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    pullers: { type: 'string', default: '4' },
    // Pulls (a manifest and a blob) per second over all pullers, and image pushes per second;
    // 0: as fast as the server answers (a closed loop, which saturates it).
    'pull-rate': { type: 'string', default: '100' },
    'push-rate': { type: 'string', default: '5' },
    label: { type: 'string', default: 'gc' },
    out: { type: 'string', default: path.join(root, 'bench', 'out') },
    'skip-distribution': { type: 'boolean', default: false },
    'distribution-data': { type: 'string' },
    'minato-data': { type: 'string' },
    'minato-node-args': { type: 'string', default: '' },
    'skip-minato': { type: 'boolean', default: false },
  },
});
const REPOS = Number(opts.repos);
const MANIFESTS = Number(opts.manifests);
const DELETED = Number(opts.deleted);
const ORPHANS = Number(opts.orphans);
const CONCURRENCY = Number(opts.concurrency);
const PULLERS = Number(opts.pullers);
const PULL_RATE = Number(opts['pull-rate']);
const PUSH_RATE = Number(opts['push-rate']);

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Target {
  url: string;
  auth?: string;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request; retried once when a kept-alive socket the server had just closed is reused. */
async function request(t: Target, method: string, pathOrUrl: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  try {
    return await requestOnce(t, method, pathOrUrl, body, headers);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    return requestOnce(t, method, pathOrUrl, body, headers);
  }
}

function requestOnce(t: Target, method: string, pathOrUrl: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const url = new URL(pathOrUrl, t.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: { ...(t.auth ? { authorization: t.auth } : {}), ...(body ? { 'content-length': String(body.length) } : {}), ...headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function expect(reply: Reply, statuses: number[], what: string): Reply {
  if (!statuses.includes(reply.status)) throw new Error(`${what}: HTTP ${reply.status} ${reply.body.toString('utf8').slice(0, 300)}`);
  return reply;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Image {
  repo: string;
  tag: string;
  manifest: Buffer;
  digest: string;
  blobs: Buffer[];
}

/** `size` bytes derived from `seed` alone (a hash chain), so every run pushes the same content. */
function bytesOf(seed: string, size = 256): Buffer {
  const parts: Buffer[] = [];
  let h = createHash('sha256').update(seed).digest();
  for (let n = 0; n < size; n += h.length) {
    parts.push(h);
    h = createHash('sha256').update(h).digest();
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** The content, the same for both registries and every run: deterministic names and bytes. */
function content(): { images: Image[]; orphans: Array<{ repo: string; blob: Buffer }> } {
  const images: Image[] = [];
  const orphans: Array<{ repo: string; blob: Buffer }> = [];
  for (let r = 0; r < REPOS; r++) {
    const repo = `gc${r % 50}/repo-${r}`;
    for (let m = 0; m < MANIFESTS; m++) {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { r: String(r), m: String(m) } } }));
      const layer = bytesOf(`layer-${r}-${m}`);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MANIFEST_TYPE,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
        }),
      );
      images.push({ repo, tag: `t${m}`, manifest, digest: sha(manifest), blobs: [config, layer] });
    }
    for (let o = 0; o < ORPHANS; o++) orphans.push({ repo, blob: bytesOf(`orphan-${r}-${o}`) });
  }
  return { images, orphans };
}

async function pushBlob(t: Target, repo: string, blob: Buffer): Promise<void> {
  const started = expect(await request(t, 'POST', `/v2/${repo}/blobs/uploads/`), [202], `start upload in ${repo}`);
  const location = new URL(String(started.headers.location), t.url);
  location.searchParams.set('digest', sha(blob));
  expect(await request(t, 'PUT', location.toString(), blob, { 'content-type': 'application/octet-stream' }), [201], `commit blob in ${repo}`);
}

async function pushImage(t: Target, image: Image): Promise<void> {
  for (const blob of image.blobs) await pushBlob(t, image.repo, blob);
  expect(await request(t, 'PUT', `/v2/${image.repo}/manifests/${image.tag}`, image.manifest, { 'content-type': MANIFEST_TYPE }), [201], `put manifest ${image.repo}:${image.tag}`);
}

/** Runs `work` over `items` with `concurrency` workers; prints progress to stderr. */
async function each<T>(what: string, items: T[], work: (item: T) => Promise<void>): Promise<number> {
  const started = Date.now();
  let next = 0;
  let done = 0;
  const tick = setInterval(() => process.stderr.write(`\r${what}: ${done}/${items.length}`), 1000);
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < items.length) {
          const item = items[next++]!;
          await work(item);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(tick);
    process.stderr.write(`\r${what}: ${done}/${items.length} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  return (Date.now() - started) / 1000;
}

/** Pushes everything, then deletes DELETED manifests per repository (the garbage). */
async function populate(t: Target, images: Image[], orphans: Array<{ repo: string; blob: Buffer }>): Promise<Populated> {
  await each('images', images, (image) => pushImage(t, image));
  await each('orphan blobs', orphans, ({ repo, blob }) => pushBlob(t, repo, blob));
  const plan = planned(images, orphans);
  await each('manifest deletes', plan.doomed, async (image) => {
    expect(await request(t, 'DELETE', `/v2/${image.repo}/manifests/${image.digest}`), [202], `delete ${image.repo}@${image.digest}`);
  });
  return plan;
}

interface Populated {
  doomed: Image[];
  kept: Image[];
  garbageBlobs: number;
  garbage: string[];
}

/** What populate deletes, what it keeps, and the garbage that leaves. */
function planned(images: Image[], orphans: Array<{ repo: string; blob: Buffer }>): Populated {
  const doomed = images.filter((_, i) => i % MANIFESTS < DELETED);
  const garbage = [...doomed.flatMap((image) => image.blobs.map(sha)), ...orphans.map(({ blob }) => sha(blob))];
  return { doomed, kept: images.filter((_, i) => i % MANIFESTS >= DELETED), garbageBlobs: garbage.length, garbage };
}

const basic = (server: NodeServer) => `Basic ${Buffer.from(`${server.user}:${server.password}`).toString('base64')}`;

/** Files under a directory named `data` (Distribution's blobs) or directly in minato's blob tree. */
function countFiles(dir: string, name?: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!name || e.name === name) n++;
    }
  };
  try {
    walk(dir);
  } catch {
    return 0;
  }
  return n;
}

/** Pulls every kept image whole (manifest by tag, each blob's digest checked). */
async function verify(t: Target, kept: Image[]): Promise<void> {
  await each('verify kept images', kept, async (image) => {
    const m = expect(await request(t, 'GET', `/v2/${image.repo}/manifests/${image.tag}`, undefined, { accept: MANIFEST_TYPE }), [200], `pull ${image.repo}:${image.tag}`);
    if (sha(m.body) !== image.digest) throw new Error(`${image.repo}:${image.tag} came back with another digest`);
    for (const blob of image.blobs) {
      const b = expect(await request(t, 'GET', `/v2/${image.repo}/blobs/${sha(blob)}`), [200], `pull blob of ${image.repo}:${image.tag}`);
      if (!b.body.equals(blob)) throw new Error(`a blob of ${image.repo}:${image.tag} came back different`);
    }
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A steady load: PULLERS clients pulling kept images, one pushing new ones; latencies by time. */
interface Sample {
  /** One pull (the manifest by tag, then a layer), or one whole image push (two blobs and the manifest: five requests). */
  kind: 'pull' | 'push';
  /** When it ended. */
  at: number;
  ms: number;
}

/** p99 of the samples in a window, per kind and over all, in ms. */
function p99s(samples: readonly Sample[]): { all: number; pull: number; push: number; requests: number } {
  const of = (list: readonly Sample[]) => percentile(list.map((s) => s.ms).sort((a, b) => a - b), 99);
  return { all: of(samples), pull: of(samples.filter((s) => s.kind === 'pull')), push: of(samples.filter((s) => s.kind === 'push')), requests: samples.length };
}

function startLoad(t: Target, kept: Image[]): { stop(): Promise<Sample[]> } {
  let stopping = false;
  const samples: Sample[] = [];
  // At a fixed rate, each operation has its time: a late start (the server slow to answer the
  // one before) counts in its latency, so a stall is not hidden by the operations not sent.
  const timed = async (kind: Sample['kind'], fn: () => Promise<void>, due?: number) => {
    if (due !== undefined && due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
    const start = due ?? performance.now();
    await fn();
    samples.push({ kind, at: Date.now(), ms: performance.now() - start });
  };
  const schedule = (rate: number, workers: number) => {
    if (rate <= 0) return () => undefined;
    let next = performance.now();
    return () => (next += (1000 * workers) / rate);
  };
  let n = 0;
  let failure: unknown;
  const guard = (p: Promise<void>) =>
    p.catch((err: unknown) => {
      failure ??= err;
      stopping = true;
    });
  const pullers = Array.from({ length: PULLERS }, async () => {
    const due = schedule(PULL_RATE, PULLERS);
    while (!stopping) {
      const image = kept[Math.floor(Math.random() * kept.length)]!;
      await timed('pull', async () => {
        expect(await request(t, 'GET', `/v2/${image.repo}/manifests/${image.tag}`, undefined, { accept: MANIFEST_TYPE }), [200], 'load pull');
        expect(await request(t, 'GET', `/v2/${image.repo}/blobs/${sha(image.blobs[1]!)}`), [200], 'load blob pull');
      }, due());
    }
  });
  const pusher = (async () => {
    const due = schedule(PUSH_RATE, 1);
    while (!stopping) {
      const config = randomBytes(64);
      const layer = randomBytes(256);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
      }));
      const image: Image = { repo: 'load/pushes', tag: `p${n++}`, manifest, digest: sha(manifest), blobs: [config, layer] };
      await timed('push', () => pushImage(t, image), due());
    }
  })();
  const all = Promise.all([...pullers, pusher].map(guard));
  return {
    async stop() {
      stopping = true;
      await all;
      if (failure) throw failure;
      return samples;
    },
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-gc-bench-'));
  const { images, orphans } = content();
  const totalBlobs = images.length * 2 + orphans.length;
  console.error(`content: ${REPOS} repositories, ${images.length} manifests, ${totalBlobs} blobs; ${DELETED}/${MANIFESTS} manifests per repository deleted`);
  const result: Record<string, unknown> = { label: opts.label, at: new Date().toISOString(), repos: REPOS, manifests: images.length, blobs: totalBlobs };
  const pids: number[] = [];
  const cleanup = async () => {
    for (const pid of pids) await stopPid(pid).catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    // Distribution: populate over HTTP (or reuse a prepared copy), stop it, time the offline GC on a copy.
    if (!opts['skip-distribution']) {
      let prepared = opts['distribution-data'];
      if (!prepared || !existsSync(path.join(prepared, 'config.yml'))) {
        prepared ??= path.join(work, 'distribution-prepared');
        mkdirSync(prepared, { recursive: true });
        const dist = await startDistribution(regbenchDir, prepared);
        pids.push(dist.pid);
        const { garbageBlobs } = await populate({ url: dist.url }, images, orphans);
        await dist.stop();
        writeFileSync(path.join(prepared, 'garbage.json'), JSON.stringify({ garbageBlobs }));
        console.error(`distribution's content is in ${prepared} (reuse it with --distribution-data)`);
      }
      const dir = path.join(work, 'distribution');
      await run('cp', ['-a', prepared, dir]);
      // Written back before the clock starts: deleting a file whose blocks are on disk costs several
      // times deleting one still in the page cache, and a registry's garbage is old.
      await run('sync');
      const config = path.join(dir, 'config.yml');
      writeFileSync(config, readFileSync(config, 'utf8').replace(/rootdirectory: .*/, `rootdirectory: ${path.join(dir, 'data')}`));
      const { garbageBlobs } = JSON.parse(readFileSync(path.join(dir, 'garbage.json'), 'utf8')) as { garbageBlobs: number };
      const blobsDir = path.join(dir, 'data', 'docker', 'registry', 'v2', 'blobs');
      const before = countFiles(blobsDir, 'data');
      const started = performance.now();
      await run('docker-registry', ['garbage-collect', '--delete-untagged', config], { maxBuffer: 1 << 30 });
      const seconds = (performance.now() - started) / 1000;
      const after = countFiles(blobsDir, 'data');
      // Distribution stores manifests as blobs too: its garbage is the blobs plus the deleted manifests.
      result.distribution = { seconds, blobsBefore: before, blobsAfter: after, reclaimed: before - after, expectedGarbage: garbageBlobs };
      console.error(`distribution garbage-collect: ${seconds.toFixed(2)} s, ${before - after} of ${before} blob files removed (garbage blobs: ${garbageBlobs}, plus the deleted manifests)`);
    }

    // minato: populate, then GC online under load.
    if (opts['skip-minato']) return;
    const dir = path.join(work, 'minato');
    mkdirSync(dir);
    // A minute's grace: the load's pushes upload their blobs before their manifest, and GC must
    // leave those links alone; the content to collect is older (populated at least a minute ago).
    const nodeArgs = opts['minato-node-args'].split(' ').filter(Boolean);
    const env = { MINATO_GC_GRACE_MINUTES: '1', MINATO_AUTH_ADMINS: 'bench' };
    const preparedMinato = opts['minato-data'];
    let server: NodeServer;
    let populated: Awaited<ReturnType<typeof populate>>;
    if (preparedMinato && existsSync(path.join(preparedMinato, 'minato.db'))) {
      await run('cp', ['-a', preparedMinato, path.join(dir, 'data')]);
      await run('sync'); // as for Distribution's copy
      server = await startMinato(dir, nodeArgs, env);
      populated = planned(images, orphans);
    } else {
      server = await startMinato(dir, nodeArgs, env);
      populated = await populate({ url: server.url, auth: basic(server) }, images, orphans);
      const populatedAt = Date.now();
      if (preparedMinato) {
        await stopPid(server.pid);
        mkdirSync(path.dirname(preparedMinato), { recursive: true });
        await run('cp', ['-a', path.join(dir, 'data'), preparedMinato]);
        console.error(`minato's content is in ${preparedMinato} (reuse it with --minato-data)`);
        server = await startMinato(dir, nodeArgs, env);
      }
      const graceLeft = populatedAt + 61_000 - Date.now();
      if (graceLeft > 0) {
        console.error(`waiting ${Math.ceil(graceLeft / 1000)} s for the grace window to pass over the content`);
        await new Promise((r) => setTimeout(r, graceLeft));
      }
    }
    pids.push(server.pid);
    const t: Target = { url: server.url, auth: basic(server) };
    const { kept, garbageBlobs, garbage } = populated;
    const blobsDir = path.join(dir, 'data', 'blobs');
    // minato's layout: blobs/sha256/<first two hex digits>/<hex>.
    const present = (digest: string) => existsSync(path.join(blobsDir, 'sha256', digest.slice(7, 9), digest.slice(7)));
    const before = countFiles(blobsDir);
    const garbageBefore = garbage.filter(present).length;
    const load = startLoad(t, kept);
    // 10 s to warm up (a server just started compiles its hot paths), 10 s of baseline.
    await new Promise((r) => setTimeout(r, 10_000));
    const warm = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const gcStart = Date.now();
    expect(
      await request(t, 'POST', '/api/v2.0/system/gc/schedule', Buffer.from(JSON.stringify({ schedule: { type: 'Manual' }, parameters: { delete_untagged: true, dry_run: false } })), { 'content-type': 'application/json' }),
      [201, 200, 202],
      'start gc',
    );
    let status: { job_status?: string; id?: number } = {};
    for (;;) {
      const history = expect(await request(t, 'GET', '/api/v2.0/system/gc?page_size=1'), [200], 'gc history');
      status = (JSON.parse(history.body.toString('utf8')) as Array<typeof status>)[0] ?? {};
      if (status.job_status && !/running|pending/i.test(status.job_status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const gcEnd = Date.now();
    const gcLog = expect(await request(t, 'GET', `/api/v2.0/system/gc/${status.id}/log`), [200], 'gc log').body.toString('utf8');
    console.error(gcLog.trimEnd());
    await new Promise((r) => setTimeout(r, 10_000));
    const samples = await load.stop();
    const garbageAfter = garbage.filter(present).length;
    const baseline = p99s(samples.filter((s) => s.at - s.ms >= warm && s.at < gcStart));
    // A request is "during" the run when it ended while GC ran, or started before GC ended;
    // "after" is the 10 s after it (the events of the run are delivered then).
    const during = p99s(samples.filter((s) => s.at >= gcStart && s.at - s.ms <= gcEnd));
    const afterwards = p99s(samples.filter((s) => s.at - s.ms > gcEnd));
    await verify(t, kept);
    result.minato = {
      seconds: (gcEnd - gcStart) / 1000,
      status: status.job_status,
      blobsBefore: before,
      garbageBefore,
      garbageLeft: garbageAfter,
      expectedGarbage: garbageBlobs,
      loadP99BeforeMs: baseline.all,
      loadP99DuringMs: during.all,
      loadRequestsDuring: during.requests,
      p99: { before: baseline, during, after: afterwards },
      load: { pullers: PULLERS, pullRate: PULL_RATE, pushRate: PUSH_RATE },
      log: gcLog,
    };
    console.error(`minato gc: ${((gcEnd - gcStart) / 1000).toFixed(2)} s (${status.job_status}), ${garbageBefore - garbageAfter} of the ${garbageBlobs} garbage blobs removed (${garbageAfter} left; ${before} blob files before); load p99 ${baseline.all.toFixed(1)} ms before, ${during.all.toFixed(1)} ms during (${during.requests} requests), ${afterwards.all.toFixed(1)} ms after`);
    for (const [name, w] of Object.entries({ before: baseline, during, after: afterwards })) console.error(`  p99 ${name}: pulls ${w.pull.toFixed(1)} ms, pushes ${w.push.toFixed(1)} ms`);
    mkdirSync(opts.out, { recursive: true });
    const file = path.join(opts.out, `${stamp()}-${opts.label}.jsonl`);
    const out = createWriteStream(file);
    out.end(`${JSON.stringify(result)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.error(`written to ${file}`);
  } catch (err) {
    for (const log of [path.join(work, 'minato', 'server.log')]) {
      if (statSync(log, { throwIfNoEntry: false })) console.error(`--- ${log} (end)\n${readFileSync(log, 'utf8').slice(-3000)}`);
    }
    throw err;
  } finally {
    await cleanup();
    agent.destroy();
    if (statSync(work, { throwIfNoEntry: false })) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
