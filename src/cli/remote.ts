// The CLI's side of the management API: the logins `minato login` keeps (URL, user, CLI token,
// CA file) in $XDG_CONFIG_HOME/minato/credentials.json or ~/.config/minato/credentials.json,
// mode 0600, never a password; and the requests made with one, whose refusals become messages a
// person can act on. A refusal or failure exits 1; a usage error (UsageError) exits 2.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { basicCredential } from '../auth/credential-cache.js';

/** Wrong use of the command line (exit status 2). */
export class UsageError extends Error {}

export interface StoredLogin {
  user: string;
  token: string;
  tokenId: number;
  caFile?: string;
}

interface CredentialsFile {
  /** The login used when --registry is not given (the last one made). */
  current?: string;
  registries: Record<string, StoredLogin>;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'minato', 'credentials.json');
}

/** "https://registry.example.com:5000/" -> "https://registry.example.com:5000": one key per registry. */
export function normalizeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw new UsageError(`"${url}" is not a URL (e.g. https://registry.example.com)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`"${url}": only http and https URLs`);
  return u.origin;
}

async function readCredentials(): Promise<CredentialsFile> {
  try {
    const parsed = JSON.parse(await readFile(credentialsPath(), 'utf8')) as CredentialsFile;
    return { current: parsed.current, registries: parsed.registries ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { registries: {} };
    throw new Error(`cannot read ${credentialsPath()}: ${(err as Error).message}; remove it and log in again`);
  }
}

async function writeCredentials(file: CredentialsFile): Promise<void> {
  const target = credentialsPath();
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.${process.pid}.tmp`;
  // Written whole under another name, then renamed: a crash never leaves half a file; 0600 from the start.
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, target);
}

export async function saveLogin(url: string, login: StoredLogin): Promise<void> {
  const file = await readCredentials();
  file.registries[url] = login;
  file.current = url;
  await writeCredentials(file);
}

export async function forgetLogin(url: string): Promise<void> {
  const file = await readCredentials();
  delete file.registries[url];
  if (file.current === url) file.current = Object.keys(file.registries)[0];
  await writeCredentials(file);
}

/** Whether any login is stored (the user commands then talk to the API unless --data/--config is given). */
export async function hasLogin(): Promise<boolean> {
  return Object.keys((await readCredentials()).registries).length > 0;
}

/** The login to use: --registry's, or the current one. */
export async function loginFor(registry?: string): Promise<{ url: string; login: StoredLogin }> {
  const file = await readCredentials();
  const url = registry ? normalizeUrl(registry) : file.current;
  if (!url) throw new UsageError('not logged in: run `minato login https://registry.example.com` first');
  const login = file.registries[url];
  if (!login) {
    const known = Object.keys(file.registries);
    throw new UsageError(`not logged in to ${url}: run \`minato login ${url}\`${known.length ? ` (logged in to ${known.join(', ')})` : ''}`);
  }
  return { url, login };
}

export interface ApiTarget {
  url: string;
  user: string;
  /** A password or a CLI token. */
  secret: string;
  caFile?: string;
}

export interface ApiAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** One request to /api/v2.0 with Basic credentials; a JSON body when `body` is given. */
export function apiRequest(target: ApiTarget, method: string, pathName: string, body?: unknown): Promise<ApiAnswer> {
  const url = new URL(`/api/v2.0${pathName}`, target.url);
  const mod = url.protocol === 'https:' ? https : http;
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: {
          Authorization: `Basic ${basicCredential(target.user, target.secret)}`,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
        },
        ca: target.caFile ? readFileSync(target.caFile) : undefined,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON (a proxy's error page): shown as text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new Error(`cannot reach ${url.origin}: ${err.message}${/certificate|self.signed|issuer/i.test(err.message) ? ' (a private CA? give it with --ca-file at login)' : ''}`)));
    if (payload) req.write(payload);
    req.end();
  });
}

function reasonOf(body: unknown): string {
  const said = (body as { errors?: Array<{ message?: unknown }> } | undefined)?.errors?.[0]?.message;
  return typeof said === 'string' ? said : typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body);
}

/** The body when the status is `expected`; else an error in words (401, 403, 404 explained). */
export function expectStatus<T>(res: ApiAnswer, expected: number, target: Pick<ApiTarget, 'url' | 'user'>): T {
  if (res.status === expected) return res.body as T;
  const reason = reasonOf(res.body);
  switch (res.status) {
    case 401:
      throw new Error(`${target.url} did not accept the credentials of ${target.user} (401): the login may have expired or been revoked; run \`minato login ${target.url}\` again`);
    case 403:
      throw new Error(`refused (403): ${reason}`);
    case 404:
      throw new Error(`not found (404): ${reason}`);
    default:
      throw new Error(`${res.status} from ${target.url}: ${reason}`);
  }
}

/** A client of the API of a stored login. */
export async function remote(registry?: string): Promise<{ target: ApiTarget; call<T>(method: string, pathName: string, expected: number, body?: unknown): Promise<T> }> {
  const { url, login } = await loginFor(registry);
  const target: ApiTarget = { url, user: login.user, secret: login.token, caFile: login.caFile };
  return { target, call: async <T>(method: string, pathName: string, expected: number, body?: unknown) => expectStatus<T>(await apiRequest(target, method, pathName, body), expected, target) };
}

/** A line of secret input: from standard input when it is not a terminal (or --password-stdin), else asked without echo. */
export async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!value) throw new UsageError('empty password on standard input');
    return value;
  }
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          process.stderr.write('\n');
          return resolve(value);
        }
        if (ch === '\u0003') {
          done();
          return reject(new Error('interrupted'));
        }
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}
