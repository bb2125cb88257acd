// The `minato` CLI as a test drives it: its own config home (nothing from the machine's), logged
// in to a test registry as its admin with `minato login`, no MINATO_PASSWORD in the environment.
import assert from 'node:assert/strict';
import { run, type RunResult } from './peers.js';
import { CLI, tempDir, type TestRegistry } from './registry.js';

export interface CliSession {
  /** The XDG_CONFIG_HOME the credentials file is in. */
  home: string;
  minato(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** As minato, asserting exit code 0 (the message shows the output). */
  ok(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
}

export async function cliLoggedIn(reg: TestRegistry): Promise<CliSession> {
  const home = await tempDir();
  const minato: CliSession['minato'] = (args, opts = {}) => run(process.execPath, [CLI, ...args], { env: { XDG_CONFIG_HOME: home, MINATO_PASSWORD: '', ...opts.env }, input: opts.input });
  const ok: CliSession['ok'] = async (args, opts) => {
    const r = await minato(args, opts);
    assert.equal(r.code, 0, `minato ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  await ok(['login', reg.url, '--user', 'admin', '--password-stdin'], { input: reg.password });
  return { home, minato, ok };
}
