// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package,
// and inclusive time of the functions that matter. Used to find minato's hot spots:
//
//   npm run bench -- --scenarios push-many-small --runs 1 --keep-data \
//     --minato-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"
//   node dist/bench/cpuprofile-top.js /tmp/prof/*.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  return dist !== -1 ? url.slice(dist + '/dist/'.length) : url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: cpuprofile-top FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per node from samples and their deltas (µs).
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;

const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const selfBy = new Map<string, number>();
const pkgBy = new Map<string, number>();
const incl = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  selfBy.set(label(n), (selfBy.get(label(n)) ?? 0) + t);
  pkgBy.set(where(n.callFrame.url), (pkgBy.get(where(n.callFrame.url)) ?? 0) + t);
  // Inclusive: every distinct frame label on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + t);
  }
}

const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
const show = (title: string, m: Map<string, number>, k: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [l, t] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k)) process.stdout.write(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(7)} ms  ${l}\n`);
};
process.stdout.write(`profile ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(2)} s (idle ${(idle / 1e6).toFixed(2)} s)\n`);
show('self time by package/module', pkgBy, 20);
show('self time by function', selfBy, top);
show('inclusive time by function', incl, top);
