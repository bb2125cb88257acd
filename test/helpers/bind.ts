// A real BIND 9 (`named`) for DNS tests, as in ../shared/peers.md section 2: started in the
// foreground from a temp dir on 127.0.0.1 and a port chosen at run time, TSIG keys made by
// tsig-keygen, an update-policy per key, and stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, run, runOk } from './peers.js';

export interface BindKey {
  name: string;
  algorithm: string;
  secret: string;
  file: string;
}

export interface RunningBind {
  pid: number;
  port: number;
  server: string;
  dir: string;
  keys: Record<string, BindKey>;
  /** `dig +short @127.0.0.1 -p PORT name type`, one line per record (TXT values unquoted). */
  dig(name: string, type: string): Promise<string[]>;
  /** The full dig output (to see the status, e.g. NXDOMAIN). */
  digRaw(name: string, type: string): Promise<string>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface BindOptions {
  /** Extra key name -> algorithm; always made: acme-key (hmac-sha256), ddns-key (hmac-sha256). */
  extraKeys?: Record<string, string>;
  /** Zone name -> { records (zone file body after SOA/NS), policy lines }. */
  zones: Record<string, { records: string; policy: string[] }>;
}

export async function startBind(dir: string, opts: BindOptions): Promise<RunningBind> {
  await mkdir(dir, { recursive: true });
  const keySpecs: Record<string, string> = { 'acme-key': 'hmac-sha256', 'ddns-key': 'hmac-sha256', ...opts.extraKeys };
  const keys: Record<string, BindKey> = {};
  for (const [name, algorithm] of Object.entries(keySpecs)) {
    const text = (await runOk('tsig-keygen', ['-a', algorithm, name])).stdout;
    const file = path.join(dir, `${name}.key`);
    await writeFile(file, text);
    const secret = /secret "([^"]+)"/.exec(text)![1]!;
    keys[name] = { name, algorithm, secret, file };
  }
  for (const [zone, z] of Object.entries(opts.zones)) {
    await writeFile(
      path.join(dir, `${zone}.zone`),
      `$TTL 60\n@ IN SOA ns1.${zone}. hostmaster.${zone}. ( 1 60 60 3600 60 )\n  IN NS ns1.${zone}.\nns1 IN A 127.0.0.1\n${z.records}\n`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = `${Object.values(keys).map((k) => `include "${k.file}";`).join('\n')}
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  allow-transfer { none; };
  managed-keys-directory "${dir}";
  session-keyfile "${dir}/session.key";
};
controls { };
${Object.entries(opts.zones)
  .map(([zone, z]) => `zone "${zone}" {\n  type primary;\n  file "${dir}/${zone}.zone";\n  update-policy {\n    ${z.policy.join('\n    ')}\n  };\n};`)
  .join('\n')}
`;
    const confFile = path.join(dir, 'named.conf');
    await writeFile(confFile, conf);
    await runOk('named-checkconf', [confFile]);
    const logFile = path.join(dir, 'named.log');
    let output = '';
    const child: ChildProcess = spawn('named', ['-g', '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    child.on('exit', () => (exited = true));
    const server = `127.0.0.1:${port}`;
    const digRaw = async (name: string, type: string): Promise<string> =>
      (await run('dig', ['+time=1', '+tries=2', `@127.0.0.1`, '-p', String(port), name, type])).stdout;
    const dig = async (name: string, type: string): Promise<string[]> =>
      (await run('dig', ['+short', '+time=1', '+tries=2', `@127.0.0.1`, '-p', String(port), name, type])).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .map((l) => (l.startsWith('"') ? l.replace(/^"|"$/g, '').replace(/" "/g, '') : l));
    const stop = async (): Promise<void> => {
      if (exited || child.pid === undefined) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(child.pid, 'SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (!exited) process.kill(child.pid, 'SIGKILL');
      await writeFile(logFile, output).catch(() => undefined);
    };
    // Ready when it answers a query, then when a signed no-op update succeeds (peers.md: SERVFAIL right after start).
    const firstZone = Object.keys(opts.zones)[0]!;
    const acme = keys['acme-key']!;
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      const soa = await digRaw(firstZone, 'SOA').catch(() => '');
      if (soa.includes('status: NOERROR')) {
        const r = await run('nsupdate', ['-k', acme.file], {
          input: `server 127.0.0.1 ${port}\nzone ${firstZone}\nupdate delete probe.${firstZone}. TXT\nsend\n`,
          timeoutMs: 5000,
        });
        if (r.code === 0) {
          ready = true;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (ready) {
      return { pid: child.pid!, port, server, dir, keys, dig, digRaw, log: async () => output || (await readFile(logFile, 'utf8').catch(() => '')), stop };
    }
    await stop();
    if (attempt >= 3 || !/address in use/i.test(output)) throw new Error(`named did not become ready on port ${port}:\n${output.slice(-3000)}`);
  }
}
