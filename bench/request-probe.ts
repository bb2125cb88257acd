// A preload that times where a server spends a request, for any node:http server (minato,
// bench/floor-server.ts): from node's `request` event to `res.end()` (the server's part of the
// round trip), the `end()` call itself (headers and body handed to the kernel), and the time
// from one response to the next request (the client's turn plus the wake-ups). Only requests
// whose URL contains PROBE_MATCH (default "tags/list") are counted. `kill -USR2 PID` prints the
// medians and 90th percentiles to stderr and starts over.
//
//   node --import ./dist/bench/request-probe.js bin/minato.js serve ...
//   node --import ./dist/bench/request-probe.js dist/bench/floor-server.js PORT
import http from 'node:http';

const match = process.env.PROBE_MATCH ?? 'tags/list';
const toEnd: number[] = [];
const inEnd: number[] = [];
const gaps: number[] = [];
const started = new WeakMap<http.ServerResponse, bigint>();
let lastEnd: bigint | undefined;

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'request') {
    const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
    if (req.url?.includes(match)) {
      const now = process.hrtime.bigint();
      started.set(res, now);
      if (lastEnd !== undefined) gaps.push(Number(now - lastEnd) / 1000);
    }
  }
  return (emit as (...a: unknown[]) => boolean).apply(this, [event, ...args]);
} as typeof emit;

const end = http.ServerResponse.prototype.end;
http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: unknown[]) {
  const t0 = started.get(this);
  if (t0 === undefined) return (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  started.delete(this);
  const t1 = process.hrtime.bigint();
  const result = (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  lastEnd = process.hrtime.bigint();
  toEnd.push(Number(t1 - t0) / 1000);
  inEnd.push(Number(lastEnd - t1) / 1000);
  return result;
} as typeof end;

function quantiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => (sorted[Math.floor(p * (sorted.length - 1))] ?? NaN).toFixed(1);
  return `p50 ${q(0.5)} p90 ${q(0.9)}`;
}

process.on('SIGUSR2', () => {
  process.stderr.write(
    `request-probe: ${toEnd.length} requests; request->end() us ${quantiles(toEnd)}; end() us ${quantiles(inEnd)}; ` +
      `end()->next request us ${quantiles(gaps)}\n`,
  );
  for (const list of [toEnd, inEnd, gaps]) list.length = 0;
  lastEnd = undefined;
});
