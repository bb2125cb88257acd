// The worker side of sha256-pool.ts: feeds bytes to a sha256 resumed from a saved state and
// answers the state after them, and for a multipart part also the part's own sha256 (what
// SigV4 signs). Keeps nothing between calls, so any worker can take any call.
import { createHash } from 'node:crypto';
import { createSHA256 } from 'hash-wasm';
import { parentPort } from 'node:worker_threads';

export interface Sha256Request {
  seq: number;
  /** hash-wasm's save() of the bytes before these; undefined for the first bytes, null when lost (not hashed). */
  state: Uint8Array | undefined | null;
  bytes: Uint8Array;
  /** Leading bytes already in the running hash (a tail read back into a part). */
  skip: number;
  /** Also the sha256 of all of `bytes`, hex. */
  part: boolean;
}

export interface Sha256Reply {
  seq: number;
  /** The state after the bytes; null when it was lost or could not be loaded (another hash-wasm build). */
  state?: Uint8Array | null;
  part?: string;
  error?: string;
}

const hasher = await createSHA256();

parentPort?.on('message', ({ seq, state, bytes, skip, part }: Sha256Request) => {
  let reply: Sha256Reply;
  try {
    let after: Uint8Array | null = null;
    if (state !== null) {
      try {
        after = (state ? hasher.load(state) : hasher.init()).update(bytes.subarray(skip)).save();
      } catch {
        after = null;
      }
    }
    reply = { seq, state: after, part: part ? createHash('sha256').update(bytes).digest('hex') : undefined };
  } catch (err) {
    reply = { seq, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
