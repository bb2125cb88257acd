// `minato cert status` and `minato cert renew`: read the status file the server keeps, or talk
// to a running server's management API, with a progress line while an order is in flight.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { readStatusFile } from '../server/cert-status.js';
import type { CertificateStatus } from '../tls/certificate-provider.js';

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
    `not after:     ${s.notAfter ?? '-'}${s.notAfter ? `  (${daysLeft(s.notAfter)})` : ''}`,
    `next renewal:  ${s.nextRenewal ?? '-'}`,
    `last error:    ${s.lastError ? `${s.lastError.at}  ${s.lastError.message}` : 'none'}`,
  ];
  if (s.renewalFailures) lines.push(`failures:      ${s.renewalFailures} since start`);
  if (s.ordering) lines.push('ordering:      an order is in flight');
  if (s.updatedAt) lines.push(`as of:         ${s.updatedAt}`);
  return `${lines.join('\n')}\n`;
}

function daysLeft(notAfter: string): string {
  const days = (Date.parse(notAfter) - Date.now()) / 86_400_000;
  return days < 0 ? `EXPIRED ${(-days).toFixed(1)} days ago` : `${days.toFixed(1)} days left`;
}

async function api(flags: ApiFlags, method: string, pathName: string): Promise<{ status: number; body: unknown }> {
  if (!flags.url) throw new Error('--url is needed to reach the running server (e.g. --url https://registry.example.com)');
  const password = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : process.env.MINATO_PASSWORD;
  if (!flags.user || !password) throw new Error('give --user and the password on standard input (--password-stdin) or in MINATO_PASSWORD');
  const url = new URL(pathName, flags.url);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: { Authorization: `Basic ${Buffer.from(`${flags.user}:${password}`).toString('base64')}` },
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

export async function certStatus(config: Config, flags: ApiFlags & { json?: boolean }): Promise<void> {
  let status: Status | undefined;
  if (flags.url) {
    const res = await api(flags, 'GET', '/api/v1/certificate');
    if (res.status !== 200) throw new Error(`the server answered ${res.status}: ${JSON.stringify(res.body)}`);
    status = res.body as Status;
  } else {
    status = await readStatusFile(path.resolve(config.data));
    if (!status) throw new Error(`no certificate status in ${path.resolve(config.data)}: is tls.mode acme, ca or files, and has the server run with this --data?`);
  }
  process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  if (status.lastError) process.exitCode = 2;
}

export async function certRenew(flags: ApiFlags & { force?: boolean }): Promise<void> {
  const before = (await api(flags, 'GET', '/api/v1/certificate')).body as Status;
  const due = !before.notAfter || before.lastError || (before.nextRenewal && Date.parse(before.nextRenewal) <= Date.now());
  if (!due && !flags.force) {
    process.stdout.write(`not due: the certificate is renewed automatically at ${before.nextRenewal}. Use --force to renew now.\n`);
    return;
  }
  const res = await api(flags, 'POST', '/api/v1/certificate/renew');
  if (res.status !== 202) throw new Error(`the server refused: ${JSON.stringify(res.body)}`);
  const spinner = ['|', '/', '-', '\\'];
  const started = Date.now();
  for (let i = 0; Date.now() - started < 300_000; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = (await api(flags, 'GET', '/api/v1/certificate')).body as Status;
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
