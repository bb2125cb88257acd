// Gives `minato serve` the same memory behaviour however it is started. The server is tuned with
// a few V8 flags (docs/benchmarks.md "Memory"); V8 reads them when the heap is made, so they cannot
// be set from inside a running process. When `serve` starts without them (`node bin/minato.js
// serve`, a process manager, a container entrypoint), the launcher runs the server once more as a
// child with the missing flags added and stays as a thin parent: it forwards signals, dies with the
// child's exit status, and the child dies with it (so a kill -9 of the parent stops the server
// too, as it would without the parent). MINATO_NODE_TUNING=off keeps Node's defaults.
// Kept free of imports beyond node:child_process: it runs before the CLI is loaded.
import { spawn } from 'node:child_process';

/**
 * --max-semi-space-size=2: the young generation stays at 2 MiB per semi-space (V8 grows it to
 * 16). --heap-growing-percent=50: the old generation may grow to 1.5x its live size before a full
 * collection (V8 lets it reach up to 4x; under 32 concurrent requests that was +40 MiB of promoted
 * garbage). --expose-gc: large uploads collect the HTTP parser's dead body buffers every few MiB
 * (src/storage/young-gc.ts). --no-memory-reducer: V8 would shrink the heap after 8 s idle and the
 * next burst would pay to grow it back (on VMs that hand free memory to the host, a host fault per
 * page): push-many-small after an idle pause ran ~25 % slower at ~30 % more CPU per blob.
 */
export const TUNED_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=50', '--expose-gc', '--no-memory-reducer'] as const;

/** Set in the child's environment by the launcher, so the server can say how it was started. */
const RELAUNCHED = 'MINATO_LAUNCHED_WITH_FLAGS';
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];

export type MemoryMode = 'tuned' | 'relaunched' | 'defaults';

let relaunched = false;

/** "--no-memory-reducer" and "--memory-reducer" are the same V8 flag; "--a=b" is flag "a". */
function flagName(arg: string): string {
  return arg.replace(/=.*$/, '').replace(/^--no-/, '--').replace(/_/g, '-');
}

/** The tuned flags missing from `execArgv` (a flag the user set in any form wins over ours). */
export function missingFlags(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.map(flagName));
  return TUNED_NODE_FLAGS.filter((f) => !given.has(flagName(f)));
}

/** How this server process got its memory tuning, for the start-up log. */
export function memoryMode(execArgv: readonly string[] = process.execArgv): MemoryMode {
  if (relaunched) return 'relaunched';
  return missingFlags(execArgv).length === 0 ? 'tuned' : 'defaults';
}

/**
 * Runs the server in a tuned child when this is `serve` without the flags. Returns true when it did
 * (this process then only waits for the child), false when the CLI should run here.
 */
export function relaunchIfNeeded(argv: readonly string[] = process.argv): boolean {
  const env = process.env;
  if (env[RELAUNCHED] === '1') {
    // The child: the IPC channel closes when the parent dies, however it dies.
    delete env[RELAUNCHED];
    relaunched = true;
    process.channel?.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
    return false;
  }
  if (argv[2] !== 'serve' || env.MINATO_NODE_TUNING === 'off') return false;
  const missing = missingFlags(process.execArgv);
  if (missing.length === 0) return false;

  const child = spawn(process.execPath, [...process.execArgv, ...missing, ...argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...env, [RELAUNCHED]: '1' },
  });
  // The parent has nothing to say on its own: every signal is the child's to handle.
  for (const signal of SIGNALS) process.on(signal, () => child.kill(signal));
  child.once('error', (err) => {
    process.stderr.write(`minato: cannot start the server process: ${err.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so a supervisor sees what the server saw.
      for (const s of SIGNALS) process.removeAllListeners(s);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
  return true;
}
