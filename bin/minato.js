#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50 --expose-gc --no-memory-reducer
// Thin launcher: the CLI is compiled by `npm run build` into dist/.
// Node flags on the first line keep the server's peak RSS down (docs/benchmarks.md): the young
// generation stays at 2 MiB per semi-space (V8 grows it to 16); the old generation may grow to
// 1.5x its live size before a full collection (V8 lets it reach up to 4x, which under 32
// concurrent requests meant +40 MiB of promoted garbage); and --expose-gc lets large uploads
// collect the parser's dead body buffers every few MiB (src/storage/young-gc.ts).
// --no-memory-reducer: V8 would shrink the heap after 8 s idle, and the next burst of pushes
// then pays to grow it back (on VMs that hand free memory to the host, a host fault per page):
// push-many-small after an idle pause ran ~25% slower at ~30% more CPU per blob.
// `node bin/minato.js` works too, without them.
import { main } from '../dist/src/cli/main.js';
main(process.argv).catch((err) => {
  console.error(`minato: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
