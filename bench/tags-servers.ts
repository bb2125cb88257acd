// regbench's tags-list listing (5000 tags at n=100: 51 sequential GETs, with regbench's own
// client library) against four servers in one run, taking turns, to show how much of the time is
// the client's and the loopback's rather than the server's:
//   distribution  CNCF Distribution: one unpaginated page, the reference of the ≤ 2x target
//   nginx         the 51 pages as static files with their Link headers: about the fastest answer
//                 any server can give this client on this machine
//   floor         bench/floor-server.ts, a do-nothing node:http server
//   minato        started as `npm run bench` starts it (launcher flags, Basic auth, quiet logs)
// Each round lists 3 times per server and keeps the median, as regbench does; the summary gives
// each server's median over the rounds, its ratio to Distribution's, and in how many rounds the
// ratio of that round was ≤ 2. Everything started is stopped by PID.
//
//   npm run build && node dist/bench/tags-servers.js [ROUNDS]        (default 8)
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNginx, type RunningNginx } from '../test/helpers/peers.js';
import { client, LIST, medianOfThree, median, PAGE, pushTags, regbenchDir, REPO, TAGS, type Client } from './tags-scenario.js';
import { startDistribution, startFloorServer, startMinato, stopPid, type Distribution, type NodeServer } from './processes.js';

interface Target {
  name: string;
  client: Client;
  medians: number[];
}

/** The pages as files named by their `last`, and nginx maps from `last` to file and Link header. */
function nginxPages(dir: string): (ports: number[]) => string {
  const pages = path.join(dir, 'pages');
  mkdirSync(pages);
  const files: string[] = [];
  const links: string[] = [];
  for (let start = 0; start <= TAGS.length; start += PAGE) {
    const last = start === 0 ? '' : TAGS[start - 1]!;
    const page = TAGS.slice(start, start + PAGE);
    const file = start === 0 ? 'first' : last;
    writeFileSync(path.join(pages, `${file}.json`), JSON.stringify({ name: REPO, tags: page }));
    files.push(`    "${last}" ${file};`);
    if (start + PAGE < TAGS.length) links.push(`    "${last}" "<${LIST}?n=${PAGE}&last=${page[page.length - 1]}>; rel=\\"next\\"";`);
  }
  return ([port]) => `
  map $arg_last $page_file {
    default missing;
${files.join('\n')}
  }
  map $arg_last $page_link {
    default "";
${links.join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    access_log off;
    root ${pages};
    location = ${LIST} {
      default_type application/json;
      add_header Link $page_link;
      try_files /$page_file.json =404;
    }
    location = /v2/ { return 200 '{}'; }
  }`;
}

async function main(rounds: number): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-tags-servers-'));
  // The pages must be readable by nginx's unprivileged worker (startNginx opens its own dir).
  chmodSync(work, 0o755);
  const dir = (name: string) => {
    const d = path.join(work, name);
    mkdirSync(d);
    return d;
  };
  let distribution: Distribution | undefined;
  let nginx: RunningNginx | undefined;
  const nodes: NodeServer[] = [];
  const targets: Target[] = [];
  try {
    distribution = await startDistribution(regbenchDir, dir('distribution'));
    const nginxDir = dir('nginx');
    nginx = await startNginx(nginxDir, 1, nginxPages(nginxDir));
    // Each is recorded as soon as it runs, so that a failure to start the next still stops it.
    const floor = await startFloorServer(dir('floor'));
    nodes.push(floor);
    const minato = await startMinato(dir('minato'));
    nodes.push(minato);

    const add = (name: string, url: string, auth?: NodeServer) =>
      targets.push({ name, client: client(url, auth?.user, auth?.password), medians: [] });
    add('distribution', distribution.url);
    add('nginx', `http://127.0.0.1:${nginx.ports[0]}`);
    add('floor', floor.url);
    add('minato', minato.url, minato);
    for (const t of targets) {
      if (t.name === 'nginx') continue;
      process.stderr.write(`tags-servers: pushing ${TAGS.length} tags to ${t.name}\n`);
      await pushTags(t.client);
    }
    for (let round = 0; round < rounds; round++) {
      // A different server goes first in each round.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        t.medians.push(await medianOfThree(t.client));
      }
      process.stderr.write(`round ${round + 1}: ${targets.map((t) => `${t.name} ${t.medians[round]!.toFixed(1)}`).join(', ')} ms\n`);
    }

    const reference = targets[0]!.medians;
    console.log(`\n${rounds} rounds, ms to list ${TAGS.length} tags (median of 3 listings per round)`);
    console.log('server        median    min    max   ratio to distribution   rounds with ratio <= 2');
    for (const t of targets) {
      const ratios = t.medians.map((m, i) => m / reference[i]!);
      console.log(
        `${t.name.padEnd(12)} ${median(t.medians).toFixed(1).padStart(7)} ${Math.min(...t.medians).toFixed(1).padStart(6)} ${Math.max(...t.medians).toFixed(1).padStart(6)}` +
          `   ${(median(t.medians) / median(reference)).toFixed(2).padStart(21)}   ${String(ratios.filter((r) => r <= 2).length).padStart(12)} of ${rounds}`,
      );
    }
  } finally {
    await Promise.all(targets.map((t) => t.client.close()));
    for (const n of nodes) await stopPid(n.pid);
    await nginx?.stop();
    await distribution?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const rounds = Number(process.argv[2] ?? 8);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: node dist/bench/tags-servers.js [ROUNDS]\n');
  process.exit(2);
}
await main(rounds);
