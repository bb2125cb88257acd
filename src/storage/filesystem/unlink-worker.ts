// The worker side of unlink-threads.ts: unlinks each path it is sent, synchronously (this thread
// has nothing else to do); a path already gone is fine.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

export interface UnlinkRequest {
  seq: number;
  paths: string[];
}

export interface UnlinkReply {
  seq: number;
  error?: { message: string; code?: string };
}

parentPort?.on('message', ({ seq, paths }: UnlinkRequest) => {
  let reply: UnlinkReply = { seq };
  try {
    for (const p of paths) {
      try {
        fs.unlinkSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } catch (err) {
    reply = { seq, error: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code } };
  }
  parentPort!.postMessage(reply);
});
