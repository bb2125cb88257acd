// HAProxy 2.6 in front of several registry replicas (../shared/peers-next.md §6): round robin,
// health checks on /readyz, X-Forwarded-Proto/-For/-Host set by the proxy, plain HTTP on a free
// loopback port, in the foreground (-db) from a temp dir, stopped by PID.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';
import { request } from './http.js';

export interface RunningHaproxy {
  url: string;
  pid: number;
  /** The backends' states as HAProxy's stats page shows them ("UP", "DOWN", ...), by server name. */
  states(): Promise<Record<string, string>>;
  output(): string;
  stop(): Promise<void>;
}

/** Balances over `backends` (host:port each); waits until every backend had its first check. */
export async function startHaproxy(dir: string, backends: string[]): Promise<RunningHaproxy> {
  const [port, stats] = [await freePort(), await freePort()];
  const config = `global
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 15s
    # A check waits this long for /readyz (without it, "inter": 300 ms, which a replica busy on
    # a loaded CI machine can miss twice in a row and be marked DOWN while it is fine).
    timeout check 3s

frontend fe_registry
    bind 127.0.0.1:${port}
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend be_registry

backend be_registry
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host healthcheck
    http-check expect status 200
    default-server check inter 300ms fall 2 rise 2
${backends.map((b, i) => `    server r${i + 1} ${b}`).join('\n')}

frontend stats
    bind 127.0.0.1:${stats}
    stats enable
    stats uri /stats
`;
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const states = async (): Promise<Record<string, string>> => {
    const csv = (await request(`http://127.0.0.1:${stats}/stats;csv`)).text;
    const result: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const cols = line.split(',');
      if (cols[0] === 'be_registry' && /^r\d+$/.test(cols[1] ?? '')) result[cols[1]!] = cols[17]!;
    }
    return result;
  };
  try {
    // Right after start every server shows "INI" (not yet checked) and still gets traffic.
    await waitFor(async () => {
      const s = await states();
      return Object.keys(s).length === backends.length && Object.values(s).every((v) => !v.includes('INI'));
    }, 15_000, 'HAProxy to check every backend');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    states,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
