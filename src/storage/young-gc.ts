// Node's HTTP parser copies every piece of a request body (up to 64 KiB) into a fresh buffer.
// V8 frees dead buffers only at a young-generation collection, which it starts on its own after
// 32 MiB of them (a compile-time constant), so a large upload carries up to 32 MiB of dead
// buffers at its peak. When node runs with --expose-gc (the tuned flags of src/cli/launch.ts), a minor
// collection after every few MiB received keeps that down, at well under a millisecond each.
const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
const EVERY = 4 << 20;
let sinceLast = 0;

/** Counts request-body bytes; collects the young generation every EVERY bytes when allowed. */
export function bodyBytesReceived(bytes: number): void {
  if (!gc) return;
  sinceLast += bytes;
  if (sinceLast < EVERY) return;
  sinceLast = 0;
  gc({ type: 'minor' });
}
