// Turns `npm run bench` JSON lines into the Markdown table of docs/benchmarks.md: for every
// headline metric, Distribution's and minato's medians (min-max), the ratio of medians, the
// target and whether it is met. With a second file, its ratio is shown as "before".
//
//   node dist/bench/report.js bench/results/<after>.jsonl [bench/results/<before>.jsonl]
import { readFileSync } from 'node:fs';

interface Stat {
  min: number;
  median: number;
  max: number;
  n: number;
}
interface Summary {
  type: 'summary';
  scenario: string;
  label: string;
  metrics: Record<string, Stat>;
}

/** target: ratio = minato median / Distribution median must be >= min or <= max; rss: absolute MiB. */
interface Row {
  scenario: string;
  metric: string;
  what: string;
  min?: number;
  max?: number;
  absMax?: number;
}

const ROWS: Row[] = [
  { scenario: 'push-large', metric: 'mono.MiBps', what: 'monolithic push MiB/s', min: 3 },
  { scenario: 'push-large', metric: 'chunked.MiBps', what: 'chunked push MiB/s', min: 3 },
  { scenario: 'push-large', metric: 'server.cpuSPerGiB', what: 'server CPU-s per GiB pushed' },
  { scenario: 'pull-large', metric: 'single.MiBps', what: 'pull MiB/s, 1 stream', min: 1 },
  { scenario: 'pull-large', metric: 'concurrent.MiBps', what: 'pull MiB/s, 4 streams', min: 1 },
  { scenario: 'pull-large', metric: 'server.cpuSPerGiB', what: 'server CPU-s per GiB pulled', max: 1.5 },
  { scenario: 'push-many-small', metric: 'blobsPerSec', what: '16 KiB blobs/s (HEAD+POST+PUT, C=32)', min: 4 },
  { scenario: 'push-many-small', metric: 'server.cpuMsPerBlob', what: 'server CPU-ms per blob' },
  { scenario: 'manifest-hot', metric: 'headTag.rps', what: 'HEAD manifest by tag, req/s', min: 6 },
  { scenario: 'manifest-hot', metric: 'getTag.rps', what: 'GET manifest by tag, req/s', min: 6 },
  { scenario: 'manifest-hot', metric: 'headDigest.rps', what: 'HEAD manifest by digest, req/s', min: 6 },
  { scenario: 'manifest-hot', metric: 'getDigest.rps', what: 'GET manifest by digest, req/s', min: 6 },
  { scenario: 'manifest-hot', metric: 'server.cpuUsPerReq', what: 'server CPU-µs per request' },
  // No target against Distribution (it ignores n): the tags-list target is against the floor server, bench/tags-servers.ts.
  { scenario: 'tags-list', metric: 'listMs', what: 'list 5000 tags at n=100, ms' },
  { scenario: 'catalog', metric: 'listMs', what: 'list 1000+ repos at n=100, ms', max: 0.1 },
];
const SCENARIOS = ['push-large', 'pull-large', 'push-many-small', 'manifest-hot', 'tags-list', 'catalog'];

function load(file: string): Map<string, Summary> {
  const out = new Map<string, Summary>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const rec = JSON.parse(line) as { type: string };
    if (rec.type !== 'summary') continue;
    const s = rec as Summary;
    out.set(`${s.scenario}/${s.label}`, s);
  }
  return out;
}

const fmt = (x: number | undefined) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const stat = (s: Stat | undefined) => (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '–');

const [afterFile, beforeFile] = process.argv.slice(2);
if (!afterFile) {
  process.stderr.write('usage: report AFTER.jsonl [BEFORE.jsonl]\n');
  process.exit(2);
}
const after = load(afterFile);
const before = beforeFile ? load(beforeFile) : undefined;
const ratio = (m: Map<string, Summary>, r: Row) => {
  const a = m.get(`${r.scenario}/distribution`)?.metrics[r.metric]?.median;
  const b = m.get(`${r.scenario}/minato`)?.metrics[r.metric]?.median;
  return a && b !== undefined ? b / a : undefined;
};

const head = ['scenario', 'metric', 'Distribution median (min–max)', 'minato median (min–max)', 'minato / Distribution'];
if (before) head.push('ratio before');
head.push('target', 'met?');
const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
for (const r of ROWS) {
  const q = ratio(after, r);
  const target = r.min !== undefined ? `>= ${r.min}x` : r.max !== undefined ? (r.max < 1 ? `<= ${r.max} (>= ${1 / r.max}x faster)` : `<= ${r.max}x`) : 'info';
  const met = q === undefined ? '?' : r.min !== undefined ? (q >= r.min ? 'met' : '**not met**') : r.max !== undefined ? (q <= r.max ? 'met' : '**not met**') : '';
  const cells = [
    r.scenario,
    `${r.what} (\`${r.metric}\`)`,
    stat(after.get(`${r.scenario}/distribution`)?.metrics[r.metric]),
    stat(after.get(`${r.scenario}/minato`)?.metrics[r.metric]),
    q === undefined ? '–' : `**${fmt(q)}**`,
  ];
  if (before) {
    const p = ratio(before, r);
    cells.push(p === undefined ? '–' : fmt(p));
  }
  cells.push(target, met);
  lines.push(`| ${cells.join(' | ')} |`);
}
// Peak RSS: VmHWM is the peak since the process started, so a scenario inherits the peaks of the
// ones before it; the highest value over all runs is the one figure that counts. Where it was
// first reached is the first scenario (in run order) whose peak equals it.
const peakOf = (m: Map<string, Summary> | undefined, who: string) => {
  let best: number | undefined;
  let where = '';
  for (const sc of SCENARIOS) {
    const v = m?.get(`${sc}/${who}`)?.metrics['server.peakRssMiB']?.max;
    if (v !== undefined && (best === undefined || v > best)) [best, where] = [v, sc];
  }
  return { best, where };
};
{
  const a = peakOf(after, 'distribution');
  const b = peakOf(after, 'minato');
  const cells = ['all', `peak server RSS, MiB (max of \`server.peakRssMiB\`; minato's first reached in ${b.where})`, fmt(a.best), fmt(b.best), a.best && b.best ? fmt(b.best / a.best) : '–'];
  if (before) cells.push(`${fmt(peakOf(before, 'minato').best)} MiB`);
  cells.push('minato <= 150 MiB', b.best === undefined ? '?' : b.best <= 150 ? 'met' : '**not met**');
  lines.push(`| ${cells.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
