// `node dist/bench/scrub-load.js`: does serving go on while a scrub re-hashes every blob? Starts
// `minato serve` (tuned flags, no access log) on a fresh data directory, pushes --mb MB of 4 MiB
// blobs for the scrub to read and one small image for the pull load, then runs the same pull load
// (--clients workers, each GET manifest by tag then GET its 256 KiB layer, in a loop, keep-alive)
// for --seconds per phase: no scrub and a scrub at scrub.rateMBps = --rate, alternated --rounds
// times; then, the server restarted on the same data with rateMBps 0 (no limit), no scrub and an
// unlimited scrub alternated likewise. Alternating keeps the machine's drift (other work on the
// cores) out of the comparison. Prints p50/p99 of each kind of phase (all its rounds' requests
// pooled, and each round's p99) and how fast the scrub read, and writes the figures as JSON to
// bench/out/. Stops every process it started, by PID.
//
//   npm run build && node dist/bench/scrub-load.js [--mb 640] [--rate 50] [--clients 4] [--seconds 10] [--rounds 3]
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stamp, startMinato, stopPid, type NodeServer } from './processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const MB = option('mb', 640);
const RATE = option('rate', 50);
const CLIENTS = option('clients', 4);
const ROUNDS = option('rounds', 3);
const SECONDS = option('seconds', 10);

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 4 });
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function call(server: NodeServer, method: string, target: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const auth = Buffer.from(`${server.user}:${server.password}`).toString('base64');
    const req = http.request(`${server.url}${target}`, { method, agent, headers: { Authorization: `Basic ${auth}`, ...(body ? { 'Content-Length': body.length } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function pushBlob(server: NodeServer, repository: string, blob: Buffer): Promise<void> {
  const res = await call(server, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha(blob)}`, blob, { 'Content-Type': 'application/octet-stream' });
  if (res.status !== 201) throw new Error(`push of a blob answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
}

async function fill(server: NodeServer): Promise<{ layer: string }> {
  const blobs = Math.ceil((MB * 1e6) / (4 * 2 ** 20));
  process.stderr.write(`pushing ${blobs} blobs of 4 MiB (${MB} MB) for the scrub to read...\n`);
  for (let i = 0; i < blobs; i++) await pushBlob(server, 'bench/bulk', randomBytes(4 * 2 ** 20));
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = randomBytes(256 * 1024);
  await pushBlob(server, 'bench/pull', config);
  await pushBlob(server, 'bench/pull', layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
    }),
  );
  const res = await call(server, 'PUT', '/v2/bench/pull/manifests/v1', manifest, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  if (res.status !== 201) throw new Error(`manifest push answered ${res.status}`);
  return { layer: sha(layer) };
}

/** The pull load for SECONDS: every request's latency in ms. */
async function load(server: NodeServer, layer: string): Promise<number[]> {
  const latencies: number[] = [];
  const until = Date.now() + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      for (const target of ['/v2/bench/pull/manifests/v1', `/v2/bench/pull/blobs/${layer}`]) {
        const t0 = process.hrtime.bigint();
        const res = await call(server, 'GET', target, undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
        if (res.status !== 200) throw new Error(`${target} answered ${res.status}`);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Phase {
  phase: string;
  requests: number;
  p50: number;
  p99: number;
  /** MB/s the scrub read during the phase. */
  scrubMBps?: number;
  latencies: number[];
}

/** Stops a run and waits for its end; the bytes it re-hashed. */
async function stopScrub(server: NodeServer, id: number): Promise<number> {
  await call(server, 'PATCH', `/api/v2.0/system/scrub/${id}`);
  for (;;) {
    const run = JSON.parse((await call(server, 'GET', `/api/v2.0/system/scrub/${id}?page_size=1`)).body.toString()) as { job_status: string; summary?: { bytes_verified: number } };
    if (run.job_status !== 'Running') return run.summary?.bytes_verified ?? 0;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function phase(server: NodeServer, layer: string, name: string, withScrub: boolean): Promise<Phase> {
  let id: number | undefined;
  if (withScrub) {
    const res = await call(server, 'POST', '/api/v2.0/system/scrub', Buffer.from('{"repair":false}'), { 'Content-Type': 'application/json' });
    if (res.status !== 201) throw new Error(`scrub start answered ${res.status}: ${res.body}`);
    id = (JSON.parse(res.body.toString()) as { id: number }).id;
  }
  const t0 = Date.now();
  const latencies = (await load(server, layer)).sort((a, b) => a - b);
  const seconds = (Date.now() - t0) / 1000;
  const out: Phase = { phase: name, requests: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), latencies };
  // Stopped (and waited for) here, so the next phase starts quiet.
  if (id !== undefined) out.scrubMBps = (await stopScrub(server, id)) / 1e6 / seconds;
  process.stderr.write(`  ${name}: ${out.requests} requests, p50 ${out.p50.toFixed(2)} ms, p99 ${out.p99.toFixed(2)} ms${out.scrubMBps !== undefined ? `, scrub read ${out.scrubMBps.toFixed(1)} MB/s` : ''}\n`);
  return out;
}

/** The phases of one kind pooled: p50/p99 of all their requests, each round's p99, the scrub's mean rate. */
function pooled(name: string, phases: Phase[]) {
  const all = phases.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const rates = phases.map((p) => p.scrubMBps).filter((r): r is number => r !== undefined);
  return {
    phase: name,
    requests: all.length,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    roundP99: phases.map((p) => p.p99),
    scrubMBps: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : undefined,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minato-bench-scrub-'));
  let server: NodeServer | undefined;
  const env = (rate: number) => ({ MINATO_AUTH_ADMINS: 'bench', MINATO_SCRUB_RATE_MBPS: String(rate) });
  const rounds = async (kinds: Array<[string, boolean]>) => {
    const by = new Map<string, Phase[]>(kinds.map(([k]) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) for (const [k, scrub] of kinds) by.get(k)!.push(await phase(server!, layer, k, scrub));
    return kinds.map(([k]) => pooled(k, by.get(k)!));
  };
  let layer = '';
  try {
    server = await startMinato(dir, [], env(RATE));
    ({ layer } = await fill(server));
    const results = await rounds([['no scrub', false], [`scrub at ${RATE} MB/s`, true]]);
    await stopPid(server.pid);
    server = await startMinato(dir, [], env(0));
    results.push(...(await rounds([['no scrub (2nd server)', false], ['scrub unlimited', true]])));
    const table = [
      `| phase (${ROUNDS} x ${SECONDS} s, ${CLIENTS} clients) | requests | p50 ms | p99 ms | p99 per round | scrub read MB/s |`,
      '| --- | ---: | ---: | ---: | --- | ---: |',
      ...results.map((p) => `| ${p.phase} | ${p.requests} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} | ${p.roundP99.map((x) => x.toFixed(1)).join(', ')} | ${p.scrubMBps?.toFixed(1) ?? '-'} |`),
    ].join('\n');
    process.stdout.write(`${table}\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    const out = path.join(repo, 'bench', 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, `${stamp()}-scrub-load.json`), JSON.stringify({ mb: MB, rate: RATE, clients: CLIENTS, seconds: SECONDS, rounds: ROUNDS, loadavg: os.loadavg(), results }, null, 2));
  } finally {
    if (server) await stopPid(server.pid);
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
