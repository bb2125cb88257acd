// How CLI commands talk to a running registry's management API (/api/v2.0): the registry and the
// credentials come from the file `minato login` stores (cli/remote.ts: one login per registry,
// the token sent as the password of Basic credentials), or from the flags
// --registry, --user and --password-stdin (or MINATO_PASSWORD), which win over the file.
// Answers are Harbor's; refusals become errors in words (401, 403, 404), with exit code 1, and
// not being able to ask at all (no credentials, no server) exit code 2.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { basicCredential } from '../auth/credential-cache.js';

export interface ApiClientFlags {
  registry?: string;
  user?: string;
  passwordStdin?: boolean;
  caFile?: string;
  insecure?: boolean;
}

/** An error the CLI prints as is, exiting with `exitCode`: 1 the registry refused or failed, 2 it could not be asked. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

export interface StoredCredentials {
  url: string;
  user: string;
  token: string;
  caFile?: string;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface ApiClient {
  /** The registry's origin. */
  url: string;
  user: string;
  /** A request; a status other than 2xx throws a CliError in words. */
  call(method: string, pathAndQuery: string, json?: unknown): Promise<ApiAnswer>;
}

/** Where `minato login` keeps its credentials. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'minato', 'credentials.json');
}

/** The login `minato login` stored (cli/remote.ts) for `registry`, or the current one. */
function storedCredentials(registry?: string): StoredCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(credentialsFile(), 'utf8');
  } catch {
    return undefined;
  }
  let file: { current?: string; registries?: Record<string, { user?: unknown; token?: unknown; caFile?: unknown }> };
  try {
    file = JSON.parse(text);
  } catch {
    throw new CliError(`${credentialsFile()} is not what minato login writes; run minato login again`, 2);
  }
  const url = registry !== undefined ? originOf(registry) : file.current;
  const login = url === undefined ? undefined : file.registries?.[url];
  if (!url || !login || typeof login.user !== 'string' || typeof login.token !== 'string') return undefined;
  return { url, user: login.user, token: login.token, ...(typeof login.caFile === 'string' ? { caFile: login.caFile } : {}) };
}

/** What the server said in Harbor's error body, else the body itself (bounded). */
function reasonOf(body: unknown): string {
  const said = (body as { errors?: Array<{ message?: unknown }> } | undefined)?.errors?.[0]?.message;
  return typeof said === 'string' ? said : typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300) ?? '';
}

/** "registry.example.com" or a URL, as an origin (https unless it says otherwise). */
function originOf(url: string): string {
  try {
    return new URL(/^https?:\/\//.test(url) ? url : `https://${url}`).origin;
  } catch {
    throw new CliError(`${url} is not a registry URL (https://registry.example.com)`, 2);
  }
}

/** The client the flags and the stored credentials describe. */
export function apiClient(flags: ApiClientFlags): ApiClient {
  const stored = storedCredentials(flags.registry);
  const url = flags.registry ?? stored?.url;
  if (!url) throw new CliError('which registry? run minato login URL first, or give --registry https://registry.example.com', 2);
  const origin = originOf(url);
  const user = flags.user ?? stored?.user;
  // The stored token belongs to its user at its registry only.
  const env = process.env.MINATO_PASSWORD || undefined;
  const storedFits = stored !== undefined && user === stored.user && originOf(stored.url) === origin;
  const secret = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : (env ?? (storedFits ? stored.token : undefined));
  if (!user || !secret) throw new CliError('no credentials: run minato login, or give --user and the password on standard input (--password-stdin) or in MINATO_PASSWORD', 2);
  const authorization = `Basic ${basicCredential(user, secret)}`;
  const caFile = flags.caFile ?? (storedFits ? stored.caFile : undefined);
  const ca = caFile ? readFileSync(caFile) : undefined;

  const send = (method: string, target: string, json?: unknown) =>
    new Promise<ApiAnswer>((resolve, reject) => {
      const u = new URL(target, origin);
      const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
      const mod = u.protocol === 'https:' ? https : http;
      const req = mod.request(
        u,
        {
          method,
          headers: { Authorization: authorization, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json', 'Content-Length': body.length } : {}) },
          ca,
          rejectUnauthorized: !flags.insecure,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              // Not JSON: kept as text.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
          });
        },
      );
      req.on('error', (err) => reject(new CliError(`cannot reach ${origin}: ${err.message}`, 2)));
      req.end(body);
    });

  return {
    url: origin,
    user,
    async call(method, target, json) {
      const res = await send(method, `/api/v2.0${target}`, json);
      if (res.status >= 200 && res.status < 300) return res;
      const reason = reasonOf(res.body);
      if (res.status === 401) throw new CliError(`${origin} did not accept the credentials of ${user} (401): run minato login again, or check --user and the password`, 1);
      if (res.status === 403) throw new CliError(`not allowed (403): ${reason}`, 1);
      if (res.status === 404) throw new CliError(`not found (404): ${reason}`, 1);
      throw new CliError(`${origin} answered ${res.status}: ${reason}`, 1);
    },
  };
}
