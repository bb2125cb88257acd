// minato's version, from its package.json (the CLI's --version, the management API's document
// and systeminfo). Read when asked: it is asked at start-up only.
import { readFileSync } from 'node:fs';

export function minatoVersion(): string {
  // src/util/version.ts runs as dist/src/util/version.js: the package is three levels up.
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
