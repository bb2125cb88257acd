#!/usr/bin/env node
// Thin launcher: the CLI is compiled by `npm run build` into dist/.
import v8 from 'node:v8';

// Cap V8's young generation (default up to 3 x 16 MiB semi-spaces): under tens of thousands of
// small requests per second it otherwise grows the resident set by ~50 MiB for no measurable
// gain (docs/benchmarks.md). Set before anything is allocated, so the heap starts with it.
v8.setFlagsFromString('--max-semi-space-size=8');

const { main } = await import('../dist/src/cli/main.js');
main(process.argv).catch((err) => {
  console.error(`minato: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
