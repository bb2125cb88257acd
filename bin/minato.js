#!/usr/bin/env node
// Thin launcher: the CLI is compiled by `npm run build` into dist/. `serve` needs a few node
// flags for its memory behaviour; when they were not given, launch.ts runs the server as a child
// with them (src/cli/launch.ts says why and how; MINATO_NODE_TUNING=off keeps Node's defaults).
import { relaunchIfNeeded } from '../dist/src/cli/launch.js';

if (!relaunchIfNeeded()) {
  const { main } = await import('../dist/src/cli/main.js');
  main(process.argv).catch((err) => {
    console.error(`minato: ${err instanceof Error ? err.message : String(err)}`);
    // CliError (src/cli/api-client.ts) says 1 (refused, failed) or 2 (could not ask).
    process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
  });
}
