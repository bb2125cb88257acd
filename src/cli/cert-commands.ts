// `minato cert status` and `minato cert renew`: read the status file the server keeps, or talk
// to a running server's management API, with a progress line while an order is in flight.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { basicCredential } from '../auth/credential-cache.js';
import type { Config } from '../config/schema.js';
import { readStatusFile } from '../server/cert-status.js';
import type { CertificateStatus } from '../tls/certificate-provider.js';
import { isRenewalDue } from '../tls/manual-renewal.js';

export interface ApiFlags {
  url?: string;
  user?: string;
  passwordStdin?: boolean;
  caFile?: string;
  insecure?: boolean;
}

type Status = CertificateStatus & { ordering?: boolean; updatedAt?: string };

export function formatStatus(s: Status): string {
  const lines = [
    `source:        ${s.source}`,
    `names:         ${s.names.join(', ') || '(none)'}`,
    `issuer:        ${s.issuer ?? '(no certificate yet)'}`,
    `serial:        ${s.serial ?? '-'}`,
    `not before:    ${s.notBefore ?? '-'}`,
    `not after:     ${s.notAfter ?? '-'}${s.notAfter ? `  (${timeLeft(s.notAfter)})` : ''}`,
    `next renewal:  ${s.nextRenewal ?? '-'}`,
    `last error:    ${s.lastError ? `${s.lastError.at}  ${s.lastError.message}` : 'none'}`,
  ];
  if (s.renewalFailures) lines.push(`failures:      ${s.renewalFailures} since start`);
  if (s.ordering) lines.push('ordering:      an order is in flight');
  if (s.updatedAt) lines.push(`as of:         ${s.updatedAt}`);
  return `${lines.join('\n')}\n`;
}

/** "89.9 days left", "5.2 hours left", "40 minutes left", or "EXPIRED 3.0 hours ago": the unit that fits. */
export function timeLeft(notAfter: string, now = Date.now()): string {
  const ms = Date.parse(notAfter) - now;
  const text = formatDuration(Math.abs(ms));
  return ms < 0 ? `EXPIRED ${text} ago` : `${text} left`;
}

function formatDuration(ms: number): string {
  if (ms >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)} days`;
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} hours`;
  const minutes = Math.floor(ms / 60_000);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

interface Credentials {
  user: string;
  password: string;
}

/** The user and password for the API, read once (standard input can be read only once). */
function credentials(flags: ApiFlags): Credentials {
  if (!flags.url) throw new Error('--url is needed to reach the running server (e.g. --url https://registry.example.com)');
  const password = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : process.env.MINATO_PASSWORD;
  if (!flags.user || !password) throw new Error('give --user and the password on standard input (--password-stdin) or in MINATO_PASSWORD');
  return { user: flags.user, password };
}

interface ApiResponse {
  status: number;
  body: unknown;
}

async function api(flags: ApiFlags, creds: Credentials, method: string, pathName: string): Promise<ApiResponse> {
  const url = new URL(pathName, flags.url);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: { Authorization: `Basic ${basicCredential(creds.user, creds.password)}` },
        ca: flags.caFile ? readFileSync(flags.caFile) : undefined,
        rejectUnauthorized: !flags.insecure,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
      },
    );
    req.on('error', (err) => reject(new Error(`cannot reach ${url.origin}: ${err.message}`)));
    req.end();
  });
}

/** The certificate API of /api/v2.0; a server from before it (no Harbor error body on its 404) is asked at /api/v1. */
async function certificateApi(flags: ApiFlags, creds: Credentials, method: string, suffix: '' | '/renew'): Promise<ApiResponse> {
  const res = await api(flags, creds, method, `/api/v2.0/certificate${suffix}`);
  if (res.status === 404 && (res.body as { errors?: unknown } | undefined)?.errors === undefined) return api(flags, creds, method, `/api/v1/certificate${suffix}`);
  return res;
}

/** What the server said: Harbor's error body ({"errors":[{"message"}]}), or /api/v1's ({"error"}). */
function reasonOf(body: unknown): string {
  const b = body as { errors?: Array<{ message?: unknown }>; error?: unknown } | undefined;
  const said = b?.errors?.[0]?.message ?? b?.error;
  return typeof said === 'string' ? said : JSON.stringify(body);
}

/** The answer's status when it is `expected`, else an error that says what the server meant. */
function expect<T>(res: ApiResponse, expected: number, creds: Credentials): T {
  if (res.status === expected) return res.body as T;
  const reason = reasonOf(res.body);
  if (res.status === 401) throw new Error(`wrong user or password for ${creds.user} (401 from the server)`);
  if ([403, 404, 409, 412, 429].includes(res.status)) throw new Error(`${reason} (${res.status} from the server)`);
  throw new Error(`the server answered ${res.status}: ${reason}`);
}

export async function certStatus(config: Config, flags: ApiFlags & { json?: boolean }): Promise<void> {
  let status: Status | undefined;
  if (flags.url) {
    const creds = credentials(flags);
    status = expect<Status>(await certificateApi(flags, creds, 'GET', ''), 200, creds);
  } else {
    status = await readStatusFile(path.resolve(config.data));
    if (!status) throw new Error(`no certificate status in ${path.resolve(config.data)}: is tls.mode acme, ca or files, and has the server run with this --data?`);
  }
  process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  if (status.lastError) process.exitCode = 2;
}

export async function certRenew(flags: ApiFlags & { force?: boolean }): Promise<void> {
  const creds = credentials(flags);
  const get = async () => expect<Status>(await certificateApi(flags, creds, 'GET', ''), 200, creds);
  const before = await get();
  if (!isRenewalDue(before) && !flags.force) {
    process.stdout.write(`not due: the certificate is renewed automatically at ${before.nextRenewal}. Use --force to renew now.\n`);
    return;
  }
  expect(await certificateApi(flags, creds, 'POST', '/renew'), 202, creds);
  const spinner = ['|', '/', '-', '\\'];
  const started = Date.now();
  for (let i = 0; Date.now() - started < 300_000; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await get();
    if (process.stderr.isTTY) process.stderr.write(`\r${spinner[i % 4]} renewing ${now.names.join(', ')} (${Math.round((Date.now() - started) / 1000)} s)`);
    if (now.ordering) continue;
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (now.serial !== before.serial && !now.lastError) {
      process.stdout.write(`renewed: serial ${now.serial}, valid until ${now.notAfter}\n`);
      return;
    }
    if (now.lastError && now.lastError.at !== before.lastError?.at) throw new Error(`renewal failed: ${now.lastError.message}`);
  }
  throw new Error('the renewal did not finish within 5 minutes; see the server log and `minato cert status`');
}
