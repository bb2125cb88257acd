// The worker side of sha256-pool.ts: feeds bytes to a sha256 resumed from a saved state and
// answers the state after them. Keeps nothing between calls, so any worker can take any call.
import { createSHA256 } from 'hash-wasm';
import { parentPort } from 'node:worker_threads';

export interface Sha256Request {
  seq: number;
  /** hash-wasm's save() of the bytes before these; absent for the first bytes of an upload. */
  state?: Uint8Array;
  bytes: Uint8Array;
}

export interface Sha256Reply {
  seq: number;
  state?: Uint8Array;
  error?: string;
}

const hasher = await createSHA256();

parentPort?.on('message', ({ seq, state, bytes }: Sha256Request) => {
  let reply: Sha256Reply;
  try {
    if (state) hasher.load(state);
    else hasher.init();
    reply = { seq, state: hasher.update(bytes).save() };
  } catch (err) {
    reply = { seq, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
