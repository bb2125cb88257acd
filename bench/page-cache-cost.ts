// What a GiB costs through the page cache and with O_DIRECT on this machine: the measurement
// behind storage.directIO (docs/benchmarks.md). Writes new files, rewrites a cached one, and
// reads back cold and direct, printing MiB/s and the process's CPU time for each.
//   node dist/bench/page-cache-cost.js [DIR]        (DIR: default the OS temp dir; 3 GiB free)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectIo } from '../src/storage/filesystem/direct-io.js';

const MiB = 1 << 20;
const SIZE = 1024 * MiB;
const dir = fs.mkdtempSync(path.join(process.argv[2] ?? os.tmpdir(), 'minato-pagecache-'));
const io = DirectIo.probe(dir);
if (!io) throw new Error(`${dir} does not support O_DIRECT`);
const buf = io.take(); // aligned, so it serves both kinds of I/O
buf.fill(7);

function measure(label: string, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  fn();
  const cpu = process.cpuUsage(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label.padEnd(34)} ${(SIZE / MiB / seconds).toFixed(0).padStart(6)} MiB/s  user ${(cpu.user / 1e6).toFixed(2)} s  system ${(cpu.system / 1e6).toFixed(2)} s`);
}

function writeFile(file: string, flags: number, direct: boolean): void {
  const fd = direct ? io!.open(file, flags) : fs.openSync(file, flags);
  for (let pos = 0; pos < SIZE; pos += buf.length) fs.writeSync(fd, buf, 0, buf.length, pos);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function readFile(file: string, direct: boolean): void {
  const fd = direct ? io!.open(file, fs.constants.O_RDONLY) : fs.openSync(file, 'r');
  for (let pos = 0; fs.readSync(fd, buf, 0, buf.length, pos) > 0; pos += buf.length);
  fs.closeSync(fd);
}

const { O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
const file = (name: string) => path.join(dir, name);
try {
  measure('write a new file, page cache', () => writeFile(file('a'), O_WRONLY | O_CREAT | O_TRUNC, false));
  measure('rewrite the same file, page cache', () => writeFile(file('a'), O_WRONLY, false));
  measure('write a new file, O_DIRECT', () => writeFile(file('b'), O_WRONLY | O_CREAT | O_TRUNC, true));
  measure('read it back, page cache (cold)', () => readFile(file('b'), false));
  measure('read it again, page cache (warm)', () => readFile(file('b'), false));
  measure('write another new file, O_DIRECT', () => writeFile(file('c'), O_WRONLY | O_CREAT | O_TRUNC, true));
  measure('read it back, O_DIRECT', () => readFile(file('c'), true));
} finally {
  io.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
