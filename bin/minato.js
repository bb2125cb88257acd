#!/usr/bin/env node
// Thin launcher: the CLI is compiled by `npm run build` into dist/.
import { main } from '../dist/src/cli/main.js';
main(process.argv).catch((err) => {
  console.error(`minato: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
