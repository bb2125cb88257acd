#!/usr/bin/env -S node --max-semi-space-size=2
// Thin launcher: the CLI is compiled by `npm run build` into dist/.
// The young generation is capped at 2 MiB per semi-space (V8's default grows it to 16): request
// garbage is collected sooner, which keeps the server's peak RSS ~30 MiB lower at no measured
// cost in throughput (docs/benchmarks.md). `node bin/minato.js` works too, without that cap.
import { main } from '../dist/src/cli/main.js';
main(process.argv).catch((err) => {
  console.error(`minato: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
