// The tags-list target: regbench's listing at n=100 (sequential GETs following Link, with
// regbench's own client library) against several servers started side by side and taking turns,
// at several repository sizes. The target (docs/benchmarks.md, "Tags"): minato within 1.25x of the
// floor server in the same run at 5,000 and at 100,000 tags, and minato's time per page at 100,000
// tags within 1.2x of its time per page at 5,000.
//   floor         bench/floor-server.ts, a do-nothing node:http server: the reference
//   minato        started as `npm run bench` starts it (tuned node flags, Basic auth, quiet logs)
//   distribution  CNCF Distribution: one unpaginated page (it ignores n), for context
//   nginx         the pages as static files with their Link headers: about the fastest answer
//                 any server can give this client on this machine, for context
// After three unmeasured rounds (JIT warm-up), each round lists 3 times per server and keeps the
// median, as regbench does; a different server goes first in each round. The servers' CPU time
// per page (from /proc, in 10 ms ticks, summed over the rounds) is the steadier figure on a busy
// machine. Prints a table and writes JSON lines (bench/out/ by default).
// Everything started is stopped by PID.
//
//   npm run build && node dist/bench/tags-servers.js [--rounds 8] [--tags 5000,100000]
//       [--servers floor,minato,distribution,nginx] [--out DIR] [--label NAME]
// Distribution takes ~250 tag PUTs/s here, so it is left out of counts above 20,000 unless --servers names it.
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx, type RunningNginx } from '../test/helpers/peers.js';
import { client, medianOfThree, median, PAGE, pagesFor, pushTags, regbenchDir, tagSet, type Client, type TagSet } from './tags-scenario.js';
import { stamp, startDistribution, startFloorServer, startMinato, stopPid, type Distribution, type NodeServer } from './processes.js';

const SERVERS = ['floor', 'minato', 'distribution', 'nginx'] as const;
type ServerName = (typeof SERVERS)[number];

/** Targets of the tags-list criterion (docs/benchmarks.md). */
const MAX_RATIO_TO_FLOOR = 1.25;
const MAX_PER_PAGE_GROWTH = 1.2;
/** Unmeasured rounds of three listings per server and size before the measured ones. */
const WARMUP_LISTINGS = 3;

interface Target {
  server: ServerName;
  set: TagSet;
  client: Client;
  medians: number[];
  /** The server's PID, to read its CPU time (not for nginx: master and workers). */
  pid?: number;
  cpuS: number;
  pagesListed: number;
}

const CLK_TCK = 100; // Linux's USER_HZ: /proc/PID/stat counts CPU time in 10 ms ticks

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Every page of every set as a file named by its `last`; nginx maps `last` to file and Link header. */
function nginxPages(dir: string, sets: TagSet[]): (ports: number[]) => string {
  const pages = path.join(dir, 'pages');
  mkdirSync(pages);
  const files: string[] = [];
  const links: string[] = [];
  const locations: string[] = [];
  for (const [i, set] of sets.entries()) {
    for (let start = 0; start <= set.tags.length; start += PAGE) {
      const last = start === 0 ? '' : set.tags[start - 1]!;
      const page = set.tags.slice(start, start + PAGE);
      const file = `${i}-${start === 0 ? 'first' : last}`;
      writeFileSync(path.join(pages, `${file}.json`), JSON.stringify({ name: set.repo, tags: page }));
      files.push(`    "${i}:${last}" ${file};`);
      if (start + PAGE < set.tags.length) links.push(`    "${i}:${last}" "<${set.list}?n=${PAGE}&last=${page[page.length - 1]}>; rel=\\"next\\"";`);
    }
    locations.push(`    location = ${set.list} { set $set ${i}; default_type application/json; add_header Link $page_link; try_files /$page_file.json =404; }`);
  }
  return ([port]) => `
  map_hash_bucket_size 128;
  map_hash_max_size 262144;
  map "$set:$arg_last" $page_file {
    default missing;
${files.join('\n')}
  }
  map "$set:$arg_last" $page_link {
    default "";
${links.join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    access_log off;
    root ${pages};
    set $set "";
${locations.join('\n')}
    location = /v2/ { return 200 '{}'; }
  }`;
}

interface Options {
  rounds: number;
  counts: number[];
  servers: ServerName[];
  serversGiven: boolean;
  out: string;
  label: string;
}

function options(): Options {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '8' },
      tags: { type: 'string', default: '5000,100000' },
      servers: { type: 'string' },
      out: { type: 'string', default: path.resolve(here, '..', '..', 'bench', 'out') },
      label: { type: 'string', default: 'tags-servers' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const usage = 'usage: node dist/bench/tags-servers.js [--rounds 8] [--tags 5000,100000] [--servers floor,minato,distribution,nginx] [--out DIR] [--label NAME]\n';
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const rounds = Number(values.rounds);
  const counts = values.tags.split(',').map(Number);
  const servers = (values.servers ?? SERVERS.join(',')).split(',') as ServerName[];
  const bad =
    (!Number.isInteger(rounds) || rounds < 1 ? 'rounds' : undefined) ??
    (counts.some((c) => !Number.isInteger(c) || c < PAGE) ? 'tags' : undefined) ??
    (servers.some((s) => !SERVERS.includes(s)) || !servers.includes('floor') || !servers.includes('minato') ? 'servers (floor and minato are needed)' : undefined);
  if (bad) {
    process.stderr.write(`tags-servers: bad --${bad}\n${usage}`);
    process.exit(2);
  }
  return { rounds, counts, servers, serversGiven: values.servers !== undefined, out: values.out, label: values.label };
}

async function main(opts: Options): Promise<boolean> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-tags-servers-'));
  // The pages must be readable by nginx's unprivileged worker (startNginx opens its own dir).
  chmodSync(work, 0o755);
  const dir = (name: string) => {
    const d = path.join(work, name);
    mkdirSync(d);
    return d;
  };
  const sets = opts.counts.map((c) => tagSet(c));
  const wanted = (server: ServerName, set: TagSet) =>
    opts.servers.includes(server) && (server !== 'distribution' || opts.serversGiven || set.tags.length <= 20_000);
  const needs = (server: ServerName) => sets.some((s) => wanted(server, s));

  let distribution: Distribution | undefined;
  let nginx: RunningNginx | undefined;
  const nodes: NodeServer[] = [];
  const targets: Target[] = [];
  mkdirSync(opts.out, { recursive: true });
  const resultFile = path.join(opts.out, `${stamp()}-${opts.label}.jsonl`);
  const out = createWriteStream(resultFile);
  const record = (line: object) => out.write(`${JSON.stringify(line)}\n`);
  record({ type: 'bench', tool: 'tags-servers', args: process.argv.slice(2), node: process.version, loadavg: os.loadavg() });
  try {
    // Each is recorded as soon as it runs, so that a failure to start the next still stops it.
    const urls = new Map<ServerName, { url: string; pid?: number; user?: string; password?: string }>();
    const floor = await startFloorServer(dir('floor'));
    nodes.push(floor);
    urls.set('floor', floor);
    const minato = await startMinato(dir('minato'));
    nodes.push(minato);
    urls.set('minato', minato);
    if (needs('distribution')) {
      distribution = await startDistribution(regbenchDir, dir('distribution'));
      urls.set('distribution', distribution);
    }
    if (needs('nginx')) {
      const nginxDir = dir('nginx');
      nginx = await startNginx(nginxDir, 1, nginxPages(nginxDir, sets));
      urls.set('nginx', { url: `http://127.0.0.1:${nginx.ports[0]}` });
    }

    for (const set of sets) {
      for (const server of opts.servers) {
        if (!wanted(server, set)) continue;
        const u = urls.get(server)!;
        const t: Target = { server, set, client: client(u.url, u.user, u.password), medians: [], pid: u.pid, cpuS: 0, pagesListed: 0 };
        targets.push(t);
        if (server === 'nginx') continue;
        process.stderr.write(`tags-servers: pushing ${set.tags.length} tags to ${server}\n`);
        const t0 = performance.now();
        await pushTags(t.client, set);
        process.stderr.write(`tags-servers: ${Math.round(set.tags.length / ((performance.now() - t0) / 1000))} tag PUTs/s\n`);
      }
    }

    // Unmeasured listings first, so that no server's first round pays for its JIT warming up.
    for (const t of targets) for (let i = 0; i < WARMUP_LISTINGS; i++) await medianOfThree(t.client, t.set);

    for (let round = 0; round < opts.rounds; round++) {
      for (const set of sets) {
        const here = targets.filter((t) => t.set === set);
        // A different server goes first in each round.
        for (let i = 0; i < here.length; i++) {
          const t = here[(i + round) % here.length]!;
          const cpu0 = t.pid === undefined ? 0 : cpuSeconds(t.pid);
          t.medians.push(await medianOfThree(t.client, set));
          if (t.pid !== undefined) t.cpuS += cpuSeconds(t.pid) - cpu0;
          t.pagesListed += 3 * (t.server === 'distribution' ? 1 : pagesFor(set.tags.length));
        }
        process.stderr.write(`round ${round + 1}, ${set.tags.length} tags: ${here.map((t) => `${t.server} ${t.medians[round]!.toFixed(1)}`).join(', ')} ms\n`);
      }
    }

    let met = true;
    console.log(`\n${opts.rounds} rounds; ms to list every tag at n=${PAGE} (median of 3 listings per round); per page = that / pages`);
    console.log('tags     server         median    min    max  per page µs  server CPU µs/page   ratio to floor   rounds <= 1.25x floor');
    const perPage = new Map<string, number>();
    for (const set of sets) {
      const floorMedians = targets.find((t) => t.set === set && t.server === 'floor')!.medians;
      const pages = pagesFor(set.tags.length);
      for (const t of targets.filter((x) => x.set === set)) {
        const m = median(t.medians);
        const ratio = m / median(floorMedians);
        const within = t.medians.filter((x, i) => x / floorMedians[i]! <= MAX_RATIO_TO_FLOOR).length;
        // Distribution answers one page whatever n says, so its time per page is not comparable.
        const usPerPage = t.server === 'distribution' ? undefined : (m / pages) * 1000;
        if (usPerPage !== undefined) perPage.set(`${t.server}:${set.tags.length}`, usPerPage);
        const cpuUsPerPage = t.pid === undefined ? undefined : (t.cpuS / t.pagesListed) * 1e6;
        console.log(
          `${String(set.tags.length).padEnd(8)} ${t.server.padEnd(12)} ${m.toFixed(1).padStart(8)} ${Math.min(...t.medians).toFixed(1).padStart(6)} ${Math.max(...t.medians).toFixed(1).padStart(6)}` +
            `  ${(usPerPage === undefined ? '-' : usPerPage.toFixed(0)).padStart(11)}  ${(cpuUsPerPage === undefined ? '-' : cpuUsPerPage.toFixed(0)).padStart(18)}   ${ratio.toFixed(2).padStart(14)}   ${String(within).padStart(10)} of ${opts.rounds}`,
        );
        record({ type: 'summary', tags: set.tags.length, server: t.server, pages: t.server === 'distribution' ? 1 : pages, medianMs: m, minMs: Math.min(...t.medians), maxMs: Math.max(...t.medians), usPerPage, cpuUsPerPage, ratioToFloor: ratio, roundsWithin: within, rounds: t.medians });
        if (t.server === 'minato' && ratio > MAX_RATIO_TO_FLOOR) met = false;
      }
    }
    const small = Math.min(...opts.counts);
    const large = Math.max(...opts.counts);
    if (small !== large) {
      const growth = perPage.get(`minato:${large}`)! / perPage.get(`minato:${small}`)!;
      const floorGrowth = perPage.get(`floor:${large}`)! / perPage.get(`floor:${small}`)!;
      console.log(`\nper-page time at ${large} / at ${small} tags: minato ${growth.toFixed(2)}, floor ${floorGrowth.toFixed(2)} (target for minato <= ${MAX_PER_PAGE_GROWTH})`);
      record({ type: 'growth', small, large, minato: growth, floor: floorGrowth });
      if (growth > MAX_PER_PAGE_GROWTH) met = false;
    }
    console.log(`target (minato <= ${MAX_RATIO_TO_FLOOR}x floor at every size${small !== large ? `, per-page growth <= ${MAX_PER_PAGE_GROWTH}` : ''}): ${met ? 'met' : 'NOT met'}`);
    record({ type: 'verdict', met });
    console.log(`JSON lines in ${path.relative(process.cwd(), resultFile)}`);
    return met;
  } finally {
    await new Promise((r) => out.end(r));
    await Promise.all(targets.map((t) => t.client.close()));
    for (const n of nodes) await stopPid(n.pid);
    await nginx?.stop();
    await distribution?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

process.exit((await main(options())) ? 0 : 1);
