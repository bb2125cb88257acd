// Running real peer programs (skopeo, podman, nginx, dockerd, Distribution, htpasswd, openssl)
// from tests: commands with captured output, free loopback ports, CA directories in the
// containers/image layout, and nginx, dockerd and Distribution started in the foreground from a
// temp dir and stopped by PID.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';

export { freePort, waitFor };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (tests assert on failures too). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          reject(err); // the program could not be started at all (ENOENT ...)
          return;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => undefined); // a program may exit without reading its input (EPIPE)
    child.stdin?.end(opts.input ?? '');
  });
}

/** Like run(), but a non-zero exit is an error whose message holds the command and its stderr. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** A directory holding only `ca.crt`, as containers/image's --cert-dir options expect. */
export async function caCertDir(dir: string, caPem: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'ca.crt'), await readFile(caPem));
  return dir;
}

/** Concatenates PEM files (e.g. leaf + intermediate into the chain a server sends). */
export async function concatPem(out: string, files: string[]): Promise<string> {
  const parts = await Promise.all(files.map(async (f) => (await readFile(f, 'utf8')).trim() + '\n'));
  await writeFile(out, parts.join(''));
  return out;
}

/** An htpasswd file with bcrypt entries, made by Apache's own `htpasswd -Bbn`. */
export async function htpasswdFile(file: string, users: Record<string, string>): Promise<string> {
  let text = '';
  for (const [user, password] of Object.entries(users)) text += (await runOk('htpasswd', ['-Bbn', user, password])).stdout.trim() + '\n';
  await writeFile(file, text);
  return file;
}

export interface RunningNginx {
  pid: number;
  ports: number[];
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground with `-p dir -c dir/nginx.conf`. `servers(ports)` returns the
 * server blocks for `portCount` fresh 127.0.0.1 ports; the http block around them puts every log,
 * pid and temp path in `dir`. A port taken between picking and binding is retried with new ports.
 */
export async function startNginx(dir: string, portCount: number, servers: (ports: number[]) => string): Promise<RunningNginx> {
  const temp = path.join(dir, 'temp');
  await mkdir(temp, { recursive: true });
  // Workers run as an unprivileged user: they must reach the temp dir (request bodies are buffered there).
  await chmod(dir, 0o755);
  await chmod(temp, 0o777);
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < portCount) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${temp}/body;
  proxy_temp_path       ${temp}/proxy;
  fastcgi_temp_path     ${temp}/fastcgi;
  uwsgi_temp_path       ${temp}/uwsgi;
  scgi_temp_path        ${temp}/scgi;
${servers(ports)}
}
`;
    const confFile = path.join(dir, 'nginx.conf');
    await writeFile(confFile, conf);
    const child: ChildProcess = spawn('nginx', ['-e', path.join(dir, 'error.log'), '-p', dir, '-c', confFile, '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const up = await Promise.race([
      waitFor(async () => (await Promise.all(ports.map((p) => canConnect(p)))).every(Boolean), 10_000, 'nginx').then(() => true),
      exited.then(() => false),
    ]);
    if (up) {
      return {
        pid: child.pid!,
        ports,
        dir,
        output: () => out,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
          await exited;
        },
      };
    }
    const errorLog = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
    if (attempt >= 3 || !/Address already in use/.test(out + errorLog)) throw new Error(`nginx did not start:\n${out}\n${errorLog}`);
  }
}

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface RunningDistribution {
  pid: number;
  /** 127.0.0.1:PORT it listens on (plain HTTP). */
  addr: string;
  output(): string;
  stop(): Promise<void>;
}

export interface DistributionOptions {
  /** bcrypt htpasswd file: Basic auth. */
  htpasswd?: string;
  /** Token auth with a static realm (Distribution never issues tokens itself). */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  deleteEnabled?: boolean;
  /** 127.0.0.1:PORT to listen on, when it must be known before the start (default: a free port). */
  addr?: string;
}

/**
 * CNCF Distribution (Debian's docker-registry 2.8) on plain HTTP on a free 127.0.0.1 port, with
 * its storage and config in `dir`. Debian's own config listens on :5000 on every interface, so it
 * is never used.
 */
export async function startDistribution(dir: string, opts: DistributionOptions = {}): Promise<RunningDistribution> {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const addr = opts.addr ?? `127.0.0.1:${await freePort()}`;
  const auth = opts.htpasswd
    ? `auth:\n  htpasswd:\n    realm: test-registry\n    path: ${opts.htpasswd}\n`
    : opts.token
      ? `auth:\n  token:\n    realm: ${opts.token.realm}\n    service: ${opts.token.service}\n    issuer: ${opts.token.issuer}\n    rootcertbundle: ${opts.token.rootCertBundle}\n`
      : '';
  const config = `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ${path.join(dir, 'data')}
  delete:
    enabled: ${opts.deleteEnabled ?? false}
http:
  addr: ${addr}
  secret: not-a-secret-test-only
${auth}`;
  const file = path.join(dir, 'config.yml');
  await writeFile(file, config);
  const child = spawn('docker-registry', ['serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
  };
  const [host, port] = addr.split(':') as [string, string];
  try {
    await waitFor(() => child.exitCode === null && canConnect(Number(port), host), 10_000, 'docker-registry');
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return { pid: child.pid!, addr, output: () => out, stop };
}

export interface RunningDockerd {
  pid: number;
  /** Environment for /usr/bin/docker: DOCKER_HOST on our socket, DOCKER_CONFIG in our dir. */
  env: NodeJS.ProcessEnv;
  /** The containerd that dockerd started, for `ctr --address`. */
  containerdSocket: string;
  /** Runs the docker CLI against this daemon (`input` on its stdin); `dockerOk` fails the test on a non-zero exit. */
  docker(args: string[], input?: string): Promise<RunResult>;
  dockerOk(args: string[], input?: string): Promise<RunResult>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's dockerd (20.10) on a unix socket in `dir`, with no TCP, bridge or iptables and
 * the vfs storage driver; dockerd starts its own containerd. It also writes /etc/docker/key.json
 * on its first start: stop() removes that file when it was not there before.
 */
export async function startDockerd(dir: string): Promise<RunningDockerd> {
  const sock = path.join(dir, 'docker.sock');
  const keyJson = '/etc/docker/key.json';
  const hadKey = await readFile(keyJson).then(() => true, () => false);
  const child = spawn(
    'dockerd',
    ['--host', `unix://${sock}`, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'docker.pid'),
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: path.join(dir, 'cli') };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
    if (!hadKey) await rm(keyJson, { force: true });
  };
  try {
    await waitFor(async () => child.exitCode === null && (await run('/usr/bin/docker', ['version'], { env })).code === 0, 30_000, 'dockerd');
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  const cli = (input?: string) => ({ env, input, timeoutMs: 120_000 });
  return {
    pid: child.pid!,
    env,
    containerdSocket: path.join(dir, 'exec', 'containerd', 'containerd.sock'),
    docker: (args, input) => run('/usr/bin/docker', args, cli(input)),
    dockerOk: (args, input) => runOk('/usr/bin/docker', args, cli(input)),
    output: () => out,
    stop,
  };
}
