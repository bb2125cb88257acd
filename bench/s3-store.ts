// The S3 blob store against a local Ceph radosgw (test/helpers/radosgw.ts): a blob pushed in
// PATCH-sized appends and committed, then pulled, through the driver itself (no HTTP, no
// registry), printing MiB/s, the event loop's longest stall and the process's CPU per phase.
//   node dist/bench/s3-store.js [--size MiB] [--patch MiB] [--rounds N] [--part MiB] [--hash-workers N]
// (--hash-workers 0 hashes on the event loop, to see what the worker saves.)
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { S3BlobStore } from '../src/storage/s3/s3-blob-store.js';
import { startRadosgw } from '../test/helpers/radosgw.js';
import { sha256 } from '../test/conformance/blob-store.js';

const MiB = 1 << 20;
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    patch: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    part: { type: 'string', default: '8' },
    'hash-workers': { type: 'string' },
  },
});
const size = Number(values.size) * MiB;
const patch = Number(values.patch) * MiB;

/** A body in 64 KiB pieces, as Node's HTTP parser hands a request body over. */
function socketBody(data: Buffer): Readable {
  let at = 0;
  return new Readable({
    read() {
      this.push(at < data.length ? data.subarray(at, (at += 64 * 1024)) : null);
    },
  });
}

async function phase<T>(label: string, bytes: number, fn: () => Promise<T>): Promise<T> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  console.log(
    `${label.padEnd(28)} ${bytes ? `${(bytes / MiB / seconds).toFixed(0).padStart(5)} MiB/s` : '           '} ${(seconds * 1000).toFixed(0).padStart(6)} ms` +
      `  loop max ${(loop.max / 1e6).toFixed(0).padStart(3)} ms p99 ${(loop.percentile(99) / 1e6).toFixed(0).padStart(3)} ms` +
      `  cpu user ${(cpu.user / 1e6).toFixed(2)} s system ${(cpu.system / 1e6).toFixed(2)} s`,
  );
  return result;
}

const rgw = await startRadosgw();
try {
  const bucket = await rgw.createBucket();
  const store = await S3BlobStore.open(
    rgw.driverConfig(bucket),
    { partSize: Number(values.part) * MiB, hashWorkers: values['hash-workers'] === undefined ? undefined : Number(values['hash-workers']) },
  );
  console.log(`radosgw ${rgw.endpoint}: ${size / MiB} MiB blob in ${patch / MiB} MiB PATCHes, ${values.part} MiB parts, ${values.rounds} rounds`);
  for (let round = 1; round <= Number(values.rounds); round++) {
    const data = randomBytes(size);
    const digest = sha256(data);
    const state = await phase(`push ${round}: appends`, size, async () => {
      let s = await store.begin(randomUUID());
      for (let at = 0; at < size; at += patch) s = await store.append(s, socketBody(data.subarray(at, at + patch)));
      return s;
    });
    await phase(`push ${round}: commit`, 0, () => store.commit(state, digest));
    await phase(`pull ${round}`, size, async () => {
      let n = 0;
      for await (const chunk of await store.open(digest)) n += (chunk as Buffer).length;
      if (n !== size) throw new Error(`pulled ${n} bytes`);
    });
  }
  await store.close();
} finally {
  await rgw.stop();
}
