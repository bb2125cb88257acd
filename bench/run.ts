// `npm run bench`: minato against CNCF Distribution with regbench (../shared/regbench), both on
// loopback, on free ports chosen now. Installs regbench's dependency when missing, starts both
// registries, runs one interleaved `regbench --compare`, writes the JSON lines to
// bench/out/<date>-<label>.jsonl (git ignores bench/out; the runs docs/benchmarks.md cites are
// copied to bench/results/) and the table to stdout, and stops every process it started (by PID)
// on success, failure, Ctrl-C or SIGTERM.
//
//   npm run bench -- [--quick] [--runs N] [--scenarios a,b] [--label NAME] [--regbench DIR]
//                    [--out DIR] [--launch flags|plain]
//                    [--keep-data] [--minato-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
//                    [--minato-env NAME=VALUE]...
//                    [any other regbench option, passed through]
//
// Parity with Distribution's quiet config: minato runs with log level `error` and
// MINATO_LOG_ACCESS_LOG=false. Distribution has no auth; minato uses Basic auth with a bcrypt
// htpasswd user (credentials are cached after the first check, see auth.credentialCacheSeconds).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readLog, stamp, startDistribution, startFloorServer, startMinato, stopPid, type Distribution } from './processes.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled to <repo>/dist/bench/run.js; the sources live in <repo>/bench/run.ts.
const repo = path.resolve(here, '..', '..');

interface Options {
  regbench: string;
  label: string;
  keepData: boolean;
  minatoNodeArgs: string[];
  minatoEnv: Record<string, string>;
  passThrough: string[];
  runs: string;
  /** Compare Distribution with bench/floor-server.ts (a do-nothing node:http server) instead of minato. */
  floor: boolean;
  /** Directory of the JSON lines. */
  out: string;
  /** "flags": node started with the tuned flags; "plain": `node bin/minato.js serve`, through the launcher. */
  launch: 'flags' | 'plain';
}

function parseOptions(argv: string[]): Options {
  const passThrough: string[] = [];
  let regbench = path.resolve(repo, '..', 'shared', 'regbench');
  let label: string | undefined;
  let keepData = false;
  let minatoNodeArgs: string[] = [];
  const minatoEnv: Record<string, string> = {};
  let runs = '1';
  let floor = false;
  let out = path.join(repo, 'bench', 'out');
  let launch: 'flags' | 'plain' = 'flags';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--regbench') regbench = path.resolve(value());
    else if (arg === '--label') label = value();
    else if (arg === '--keep-data') keepData = true;
    else if (arg === '--floor') floor = true;
    else if (arg === '--out') out = path.resolve(value());
    else if (arg === '--launch') {
      const v = value();
      if (v !== 'flags' && v !== 'plain') throw new Error('--launch is "flags" or "plain"');
      launch = v;
    }
    else if (arg === '--minato-node-args') minatoNodeArgs = value().split(/\s+/).filter(Boolean);
    else if (arg === '--minato-env') {
      const [k, ...v] = value().split('=');
      if (!k || v.length === 0) throw new Error('--minato-env needs NAME=VALUE');
      minatoEnv[k] = v.join('=');
    } else if (arg === '--runs') runs = value();
    else if (['--label2', '--compare', '--pid', '--pid2', '--user', '--password', '--user2', '--password2', '--json'].includes(arg)) {
      throw new Error(`${arg} is set by the bench runner itself`);
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: npm run bench -- [--quick] [--runs N] [--scenarios a,b] [--label NAME] [--regbench DIR]\n' +
          '                        [--out DIR]  (JSON lines; default bench/out, ignored by git)\n' +
          '                        [--launch flags|plain]  (plain: node bin/minato.js serve, through the launcher)\n' +
          '                        [--keep-data] [--minato-node-args "ARGS"] [--minato-env NAME=VALUE]...\n' +
          '                        [--floor]  (a do-nothing node server instead of minato; tags-list only)\n' +
          '                        [other regbench options]\n',
      );
      process.exit(0);
    } else passThrough.push(arg);
  }
  label ??= passThrough.includes('--quick') ? 'quick' : 'full';
  if (!/^[\w.-]+$/.test(label)) throw new Error(`--label must be letters, digits, ".", "_" or "-"`);
  return { regbench, label, keepData, minatoNodeArgs, minatoEnv, passThrough, runs, floor, out, launch };
}

async function ensureRegbench(dir: string): Promise<string> {
  const bin = path.join(dir, 'bin', 'regbench.mjs');
  if (!existsSync(bin)) throw new Error(`regbench not found at ${dir} (use --regbench DIR)`);
  if (!existsSync(path.join(dir, 'node_modules', 'undici', 'package.json'))) {
    process.stderr.write(`bench: installing regbench's dependencies (npm ci in ${dir})\n`);
    const npm = spawn('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number | null>((r) => npm.on('close', r));
    if (code !== 0) throw new Error(`npm ci in ${dir} failed (exit ${code})`);
  }
  return bin;
}

async function versions(regbenchDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { node: process.version };
  const tryRun = async (key: string, cmd: string, args: string[], cwd?: string) => {
    try {
      out[key] = (await run(cmd, args, { cwd })).stdout.trim();
    } catch {
      out[key] = 'unknown';
    }
  };
  await tryRun('docker-registry', 'docker-registry', ['--version']);
  await tryRun('minatoCommit', 'git', ['rev-parse', '--short', 'HEAD'], repo);
  await tryRun('minatoDirty', 'git', ['status', '--porcelain', '--untracked-files=no', 'src'], repo);
  out.minatoDirty = out.minatoDirty ? 'yes (uncommitted src changes)' : 'no';
  try {
    out.regbench = (JSON.parse(readFileSync(path.join(regbenchDir, 'package.json'), 'utf8')) as { version: string }).version;
    out.undici = (JSON.parse(readFileSync(path.join(regbenchDir, 'node_modules', 'undici', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* reported as missing */
  }
  out.loadavg = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  out.cpus = String(os.cpus().length);
  return out;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const regbenchBin = await ensureRegbench(opts.regbench);
  const work = mkdtempSync(path.join(os.tmpdir(), 'minato-bench-'));
  const distDir = path.join(work, 'distribution');
  const minatoDir = path.join(work, 'minato');
  mkdirSync(distDir);
  mkdirSync(minatoDir);

  let distribution: Distribution | undefined;
  let minato: ChildProcess | undefined;
  let regbench: ChildProcess | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (regbench?.pid !== undefined) await stopPid(regbench.pid, 2000);
      if (minato?.pid !== undefined) await stopPid(minato.pid);
      await distribution?.stop();
      if (!opts.keepData) rmSync(work, { recursive: true, force: true });
      else process.stderr.write(`bench: data kept in ${work}\n`);
    })());
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\nbench: ${sig}, stopping everything\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    // CNCF Distribution, quiet logging (level error, no access log).
    distribution = await startDistribution(opts.regbench, distDir);

    // minato (or the floor server), Basic auth with a bcrypt htpasswd user, quiet logs.
    const server = opts.floor ? await startFloorServer(minatoDir) : await startMinato(minatoDir, opts.minatoNodeArgs, opts.minatoEnv, opts.launch);
    minato = server.child;
    const { pid: minatoPid, url: minatoUrl, logFile: minatoLog } = server;
    const password = server.password ?? 'unused';

    const info = await versions(opts.regbench);
    process.stderr.write(`bench: ${JSON.stringify(info)}\n`);
    process.stderr.write(`bench: distribution pid ${distribution.pid} on ${distribution.url}, minato pid ${minatoPid} on ${minatoUrl}\n`);

    mkdirSync(opts.out, { recursive: true });
    const resultFile = path.join(opts.out, `${stamp()}-${opts.label}.jsonl`);
    const out = createWriteStream(resultFile);
    out.write(`${JSON.stringify({ type: 'bench', versions: info, args: process.argv.slice(2) })}\n`);

    const args = [
      regbenchBin,
      '--runs', opts.runs,
      '--label', 'distribution', '--pid', String(distribution.pid), distribution.url,
      '--compare', minatoUrl,
      '--label2', opts.floor ? 'floor' : 'minato', '--pid2', String(minatoPid),
      // "=" form: a base64url password may start with "-", which would read as an option.
      '--user2', 'bench', `--password2=${password}`,
      ...opts.passThrough,
    ];
    process.stderr.write(`bench: node ${args.map((a) => a.replace(password, '***')).join(' ')}\n`);
    regbench = spawn(process.execPath, args, { cwd: opts.regbench, stdio: ['ignore', 'pipe', 'pipe'] });
    regbench.stdout!.pipe(out, { end: false });
    // The table (regbench's stderr) goes to our stdout.
    regbench.stderr!.pipe(process.stdout, { end: false });
    const code = await new Promise<number>((r) => regbench!.on('close', (c, s) => r(c ?? (s ? 1 : 0))));
    await new Promise((r) => out.end(r));
    process.stderr.write(`bench: JSON lines in ${path.relative(process.cwd(), resultFile)}\n`);
    if (server.launcherPid !== undefined) {
      const rss = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.launcherPid}/status`, 'utf8'))?.[1];
      process.stderr.write(`bench: the launcher (pid ${server.launcherPid}) peaked at ${(Number(rss) / 1024).toFixed(0)} MiB RSS, apart from the server's figures\n`);
    }
    if (minato.exitCode !== null) process.stderr.write(`bench: minato exited during the run; log:\n${readLog(minatoLog)}\n`);
    else if (readLog(minatoLog).trim() !== '' && readLog(minatoLog) !== '(no log)') {
      process.stderr.write(`bench: minato logged:\n${readLog(minatoLog)}\n`);
    }
    return code;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
