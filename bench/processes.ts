// Starting and stopping the servers a benchmark compares (Distribution, minato, the floor server):
// waiting for an HTTP answer, stopping by PID, and minato started with its tuned node flags.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { TUNED_NODE_FLAGS } from '../src/cli/launch.js';
import { freePort } from '../test/helpers/ports.js';

// Compiled to <repo>/dist/bench/processes.js.
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

/** "2026-12-01T0953Z": the UTC minute, for result file names. */
export function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}Z`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Only ever a PID this script started. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (alive(pid) && Date.now() < until) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function waitForHttp(url: string, child: ChildProcess, what: string, logFile: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited before it answered; log ${logFile}:\n${readLog(logFile)}`);
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${what} did not answer on ${url} within 30 s; log ${logFile}:\n${readLog(logFile)}`);
}

export function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

export interface NodeServer {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  logFile: string;
  /** The launcher's PID when the server runs as its child (`--launch plain`). */
  launcherPid?: number;
  /** Basic-auth user and password, when the server requires them. */
  user?: string;
  password?: string;
}

/** Runs `node ARGS` in `dir` (output in dir/server.log) and waits until it answers /v2/. */
export async function startNodeServer(dir: string, what: string, args: (port: number) => string[], env: Record<string, string> = {}): Promise<NodeServer> {
  const port = await freePort();
  const logFile = path.join(dir, 'server.log');
  const log = createWriteStream(logFile);
  await new Promise((r) => log.on('open', r));
  const child = spawn(process.execPath, args(port), { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`could not start ${what}`);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, child, what, logFile);
  } catch (err) {
    await stopPid(child.pid, 2000);
    throw err;
  }
  return { child, pid: child.pid, port, url, logFile };
}

/**
 * minato with the tuned node flags given directly (src/cli/launch.ts; so the PID sampled is the server's own), with Basic auth for
 * a bcrypt htpasswd user "bench", log level `error` and no access log: parity with
 * Distribution's quiet config.
 */
export async function startMinato(
  dir: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
  launch: 'flags' | 'plain' = 'flags',
  /** More `minato serve` arguments, e.g. ['-c', 'minato.yaml'] (a shared htpasswd comes from there too). */
  serveArgs: string[] = [],
): Promise<NodeServer> {
  const password = randomBytes(18).toString('base64url');
  const htpasswd = path.join(dir, 'htpasswd');
  writeFileSync(htpasswd, `bench:${await bcrypt.hash(password, 10)}\n`, { mode: 0o600 });
  const launcher = path.join(repo, 'bin', 'minato.js');
  const args = (port: number) => [
    ...(launch === 'flags' ? TUNED_NODE_FLAGS : []),
    ...nodeArgs,
    launcher,
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--data', path.join(dir, 'data'),
    '--htpasswd', htpasswd,
    '--log-level', 'error',
    ...serveArgs,
  ];
  // The bench user is no administrator: its first push creates each project (it becomes the
  // project's admin), so every request goes through the member's role lookup.
  const server = await startNodeServer(dir, 'minato', args, { MINATO_PROJECTS_AUTO_CREATE: 'true', ...env, MINATO_LOG_ACCESS_LOG: 'false' });
  // With the tuned flags given, or tuning off (Node's defaults, no relaunch), the process is the server.
  if (launch === 'flags' || env.MINATO_NODE_TUNING === 'off') return { ...server, user: 'bench', password };
  // `node bin/minato.js serve`, as a user may start it: the launcher runs the server as its child
  // with the flags; the server is the process to sample, the launcher's own RSS is reported apart.
  const children = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  if (children.length !== 1 || !(children[0]! > 0)) throw new Error(`expected one server process under the launcher ${server.pid}, found "${children.join(' ')}"`);
  return { ...server, pid: children[0]!, launcherPid: server.pid, user: 'bench', password };
}

/** bench/floor-server.ts: a do-nothing node:http registry for the tags-list scenario. */
export function startFloorServer(dir: string): Promise<NodeServer> {
  return startNodeServer(dir, 'floor server', (port) => [path.join(here, 'floor-server.js'), String(port)]);
}

export interface Distribution {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** CNCF Distribution with regbench's script: quiet logging (level error, no access log), storage in dir. */
export async function startDistribution(regbenchDir: string, dir: string): Promise<Distribution> {
  const script = path.join(regbenchDir, 'scripts', 'distribution.sh');
  const addr = `127.0.0.1:${await freePort()}`;
  const { stdout } = await promisify(execFile)(script, ['start', dir, addr, 'quiet']);
  const pid = Number(stdout.trim().split('\n').pop());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`distribution.sh printed no PID: ${stdout}`);
  return {
    pid,
    url: `http://${addr}`,
    async stop() {
      // distribution.sh stop checks the PID file and that the PID is docker-registry.
      await promisify(execFile)(script, ['stop', dir]).catch(() => undefined);
      await stopPid(pid);
    },
  };
}
