// The worker side of hash-thread.ts: one sha256 state per upload, fed in message order.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { op: 'start'; seq: number; id: string; file: string; size: number }
  | { op: 'update'; seq: number; id: string; bytes: Uint8Array }
  | { op: 'digest'; seq: number; id: string }
  | { op: 'drop'; seq: number; id: string };

export interface HashReply {
  seq: number;
  hex?: string;
  error?: string;
}

const hashes = new Map<string, Hash>();

function handle(request: HashRequest): string | undefined {
  switch (request.op) {
    case 'start': {
      const hash = createHash('sha256');
      if (request.size > 0) hashFilePrefix(request.file, request.size, hash);
      hashes.set(request.id, hash);
      return undefined;
    }
    case 'update':
      stateOf(request.id).update(request.bytes);
      return undefined;
    case 'digest':
      return stateOf(request.id).copy().digest('hex');
    case 'drop':
      hashes.delete(request.id);
      return undefined;
  }
}

function stateOf(id: string): Hash {
  const hash = hashes.get(id);
  if (!hash) throw new Error(`no hash state for upload ${id}`);
  return hash;
}

function hashFilePrefix(file: string, size: number, hash: Hash): void {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let pos = 0; pos < size; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) throw new Error(`${file} is shorter than ${size} bytes`);
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

parentPort?.on('message', (request: HashRequest) => {
  let reply: HashReply;
  try {
    reply = { seq: request.seq, hex: handle(request) };
  } catch (err) {
    reply = { seq: request.seq, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
