// `npm run bench:fleet`: the scale-out mode against CNCF Distribution on the same S3 server. Starts
// a throw-away PostgreSQL 15 cluster and a one-node Ceph whose radosgw is the S3 server (the test
// helpers' recipes), one bucket each for minato and Distribution (Distribution's own S3 driver,
// redirects off so it serves the bytes as minato does), runs one interleaved `regbench --compare`,
// writes the JSON lines to bench/out/<date>-<label>.jsonl, and stops everything it started.
//
//   npm run bench:fleet -- [--replicas N] [--against distribution|one-replica] [--tuning on|off] [--label NAME] [any regbench option]
//
// --replicas N (default 1): N minato replicas behind HAProxy (round robin), sampled by regbench
// through the first replica's PID only (its CPU and RSS are one replica's share).
// --against one-replica: compare the N replicas with one replica on the same database and
// bucket instead of with Distribution (the scaling question).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startHaproxy, type RunningHaproxy } from '../test/helpers/haproxy.js';
import { startPostgres, type RunningPostgres } from '../test/helpers/postgres.js';
import { startRadosgw, type RunningRadosgw } from '../test/helpers/radosgw.js';
import { freePort, waitFor } from '../test/helpers/ports.js';
import { startMinato, stamp, stopPid, type NodeServer } from './processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

interface Options {
  /** "off": minato runs with Node's default flags (MINATO_NODE_TUNING=off) instead of the tuned ones. */
  tuning: 'on' | 'off';
  replicas: number;
  against: 'distribution' | 'one-replica';
  label: string;
  regbench: string;
  passThrough: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { tuning: 'on', replicas: 1, against: 'distribution', label: 'fleet', regbench: path.resolve(repo, '..', 'shared', 'regbench'), passThrough: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--replicas') o.replicas = Number(argv[++i]);
    else if (arg === '--against') o.against = argv[++i] as Options['against'];
    else if (arg === '--label') o.label = argv[++i]!;
    else if (arg === '--tuning') o.tuning = argv[++i] === 'off' ? 'off' : 'on';
    else if (arg === '--regbench') o.regbench = path.resolve(argv[++i]!);
    else o.passThrough.push(arg);
  }
  if (!(o.replicas >= 1 && o.replicas <= 8)) throw new Error('--replicas is 1 to 8');
  if (o.against !== 'distribution' && o.against !== 'one-replica') throw new Error('--against is distribution or one-replica');
  return o;
}

/** Distribution 2.8 with its S3 driver, configured as ../shared/regbench/BASELINE.md did. */
async function startDistributionS3(dir: string, s3: RunningRadosgw, bucket: string): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const addr = `127.0.0.1:${await freePort()}`;
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true }, fields: { service: 'registry' } },
    storage: {
      cache: { blobdescriptor: 'inmemory' },
      s3: { accesskey: s3.accessKeyId, secretkey: s3.secretAccessKey, region: s3.region, regionendpoint: s3.endpoint, bucket, secure: false, v4auth: true, chunksize: 10485760, rootdirectory: '/registry' },
      delete: { enabled: true },
      redirect: { disable: true },
    },
    http: { addr, headers: { 'X-Content-Type-Options': ['nosniff'] } },
  };
  writeFileSync(path.join(dir, 'config.yml'), stringify(config));
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { env: s3.env(), stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://${addr}`;
  await waitFor(async () => (await fetch(`${url}/v2/`)).status === 200, 20_000, 'Distribution on S3');
  return { pid: child.pid!, url, stop: () => stopPid(child.pid!) };
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-fleet-bench-'));
  const stops: Array<() => Promise<void>> = [];
  let pg: RunningPostgres | undefined;
  let s3: RunningRadosgw | undefined;
  try {
    [pg, s3] = await Promise.all([startPostgres(), startRadosgw()]);
    stops.push(() => pg!.stop(), () => s3!.stop());
    const [databaseUrl, bucket, distBucket] = await Promise.all([pg.createDatabase(), s3.createBucket(), s3.createBucket()]);
    const configFile = path.join(work, 'minato.yaml');
    writeFileSync(
      configFile,
      stringify({
        database: { driver: 'postgres', url: databaseUrl },
        storage: { driver: s3.driverConfig(bucket) },
        trustedProxies: ['127.0.0.1'],
      }),
    );
    // Tuning off: no launcher relaunch, so the process started is the server sampled.
    const minatoEnv = { ...(s3.env() as Record<string, string>), ...(opts.tuning === 'off' ? { MINATO_NODE_TUNING: 'off' } : {}) };
    const launch = opts.tuning === 'off' ? 'plain' : 'flags';
    const replicas: NodeServer[] = [];
    for (let i = 0; i < opts.replicas; i++) {
      const dir = path.join(work, `minato-${i}`);
      mkdirSync(dir);
      const shared = replicas[0] ? ['--htpasswd', path.join(work, 'minato-0', 'htpasswd')] : [];
      const replica = await startMinato(dir, [], minatoEnv, launch, ['-c', configFile, ...shared]);
      replicas.push(opts.replicas > 1 && i > 0 ? { ...replica, password: replicas[0]!.password } : replica);
      stops.push(() => stopPid(replica.pid));
    }
    let lb: RunningHaproxy | undefined;
    if (opts.replicas > 1) {
      lb = await startHaproxy(work, replicas.map((r) => `127.0.0.1:${r.port}`));
      stops.push(() => lb!.stop());
    }
    const minatoUrl = lb?.url ?? replicas[0]!.url;
    const password = replicas[0]!.password!;

    let a: { label: string; pid: number; url: string; auth: string[] };
    if (opts.against === 'distribution') {
      const distDir = path.join(work, 'distribution');
      mkdirSync(distDir);
      const dist = await startDistributionS3(distDir, s3, distBucket);
      stops.push(() => dist.stop());
      a = { label: 'distribution-s3', pid: dist.pid, url: dist.url, auth: [] };
    } else {
      const dir = path.join(work, 'minato-single');
      mkdirSync(dir);
      const single = await startMinato(dir, [], minatoEnv, launch, ['-c', configFile, '--htpasswd', path.join(work, 'minato-0', 'htpasswd')]);
      stops.push(() => stopPid(single.pid));
      a = { label: 'minato-1-replica', pid: single.pid, url: single.url, auth: ['--user', 'bench', `--password=${password}`] };
    }

    mkdirSync(path.join(repo, 'bench', 'out'), { recursive: true });
    const resultFile = path.join(repo, 'bench', 'out', `${stamp()}-${opts.label}.jsonl`);
    const out = createWriteStream(resultFile);
    const commit = await new Promise<string>((resolve) => execFile('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo }, (err, out) => resolve(err ? 'unknown' : out.trim())));
    out.write(`${JSON.stringify({ type: 'bench', mode: 'fleet', minatoCommit: commit, tuning: opts.tuning, replicas: opts.replicas, against: opts.against, loadavg: os.loadavg(), args: process.argv.slice(2) })}\n`);
    const args = [
      path.join(opts.regbench, 'bin', 'regbench.mjs'),
      '--label', a.label, '--pid', String(a.pid), ...a.auth, a.url,
      '--compare', minatoUrl, '--label2', `minato-${opts.replicas}-replica${opts.replicas > 1 ? 's' : ''}`, '--pid2', String(replicas[0]!.pid),
      '--user2', 'bench', `--password2=${password}`,
      ...opts.passThrough,
    ];
    process.stderr.write(`bench: node ${args.map((x) => x.replace(password, '***')).join(' ')}\n`);
    const regbench: ChildProcess = spawn(process.execPath, args, { cwd: opts.regbench, stdio: ['ignore', 'pipe', 'pipe'] });
    regbench.stdout!.pipe(out, { end: false });
    regbench.stderr!.pipe(process.stdout, { end: false });
    const code = await new Promise<number>((r) => regbench.on('close', (c) => r(c ?? 1)));
    await new Promise((r) => out.end(r));
    process.stderr.write(`bench: JSON lines in ${path.relative(process.cwd(), resultFile)}\n`);
    return code;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
