// Starting registries for tests: in-process (fast, for API tests) or as a real `minato serve`
// child process (for restart and crash tests). Always on 127.0.0.1 with a port the kernel picks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry, type StartOptions } from '../../src/server/compose.js';
import { request, type Response } from './http.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'bin', 'minato.js');

export async function tempDir(prefix = 'minato-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestRegistry extends RunningRegistry {
  user: string;
  password: string;
  dataDir: string;
  /** "Basic ..." header value for the admin user. */
  basic: string;
}

/** An in-process registry on a fresh data dir; `config` is merged over test defaults; `options` as startRegistry's. */
export async function startTestRegistry(config: Record<string, unknown> = {}, options: StartOptions = {}): Promise<TestRegistry> {
  const dataDir = (config.data as string | undefined) ?? (await tempDir());
  const cfg = parseConfig({
    listen: '127.0.0.1:0',
    data: dataDir,
    log: { level: 'silent', accessLog: false },
    ...config,
    auth: { credentialCacheSeconds: 60, ...(config.auth as object | undefined) },
    // Tests push to repositories of any name: a first push creates its project (the tests of
    // projects turn this off to see the default refusal).
    projects: { autoCreate: true, ...(config.projects as object | undefined) },
  });
  let running: RunningRegistry;
  try {
    running = await startRegistry(cfg, pino({ level: 'silent' }), options);
  } catch (err) {
    if (!config.data) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let password = running.initialAdminPassword ?? '';
  if (!password && running.users) {
    password = 'test-password';
    await running.users.setPassword('admin', password);
  }
  return {
    ...running,
    user: 'admin',
    password,
    dataDir,
    basic: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
    async close() {
      await running.close();
      if (!config.data) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  pid: number;
  /** The admin password printed on first start, if this start created it. */
  adminPassword?: string;
  output(): string;
  /** The access log lines so far (log level info, `log.accessLog` on). */
  accessLog(): AccessLogLine[];
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export interface AccessLogLine {
  method: string;
  url: string;
  status: number;
}

/**
 * Runs `node [NODE_ARGS] bin/minato.js serve ARGS` and waits until it logs the URL it serves on.
 * Without the tuned node flags in NODE_ARGS, `pid` is the launcher's, the server its child.
 */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000, nodeArgs: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--listen', '127.0.0.1:0', ...args], {
    // As in startTestRegistry: a first push creates its project unless the test says otherwise.
    env: { ...process.env, MINATO_PROJECTS_AUTO_CREATE: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // else the orphan keeps the test process alive
      reject(new Error(`minato serve did not log "minato is serving" (log level info or lower) in ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    const check = () => {
      const m = /"url":"(https?:\/\/[^"]+)".*"msg":"minato is serving"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`minato serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  const pw = /with password: (\S+)/.exec(err)?.[1];
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    child,
    url,
    pid: child.pid!,
    adminPassword: pw,
    output: () => out + err,
    accessLog: () =>
      out
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => JSON.parse(l) as AccessLogLine),
    stop: () => stopWith('SIGTERM'),
    kill9: () => stopWith('SIGKILL'),
  };
}

/** GET /token for these scopes (Basic credentials optional), with service=minato unless `query` says otherwise. */
export function requestToken(base: string, scopes: string | string[], authorization?: string, query: Record<string, string> = { service: 'minato' }): Promise<Response> {
  const params = new URLSearchParams(query);
  for (const s of ([] as string[]).concat(scopes)) params.append('scope', s);
  return request(`${base}/token?${params}`, { headers: authorization ? { Authorization: authorization } : {} });
}

/** A bearer token for these scopes; fails the test when the endpoint issues none. */
export async function bearerToken(base: string, scopes: string | string[], authorization?: string): Promise<string> {
  const res = await requestToken(base, scopes, authorization);
  if (res.status !== 200) throw new Error(`GET /token answered ${res.status}: ${res.text}`);
  return (res.json() as { token: string }).token;
}
