// Pebble, the ACME test CA (Debian package "pebble"), with pebble-challtestsrv as its DNS server
// (every name resolves to 127.0.0.1). All on loopback, on ports chosen at run time.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from './http.js';
import { freePorts, waitFor } from './ports.js';
import { makeTestPki } from './tls.js';

export interface Pebble {
  directoryUrl: string;
  /** CA of Pebble's own HTTPS listener (give it to minato as tls.acme.caBundle). */
  listenerCa: string;
  /** Pebble's issuing root (new at every start): what clients must trust. */
  rootPem: string;
  rootFile: string;
  /** The ports Pebble validates on: HTTP-01 and TLS-ALPN-01. */
  httpPort: number;
  tlsPort: number;
  acmePort: number;
  stop(): Promise<void>;
  output(): string;
}

export interface PebbleOptions {
  dir: string;
  httpPort: number;
  tlsPort: number;
  /** Certificate lifetime in seconds (short ones test renewal). */
  validitySeconds?: number;
  /** DNS server for validation lookups; default: a challtestsrv answering 127.0.0.1 for all names. */
  dnsServer?: string;
  /** Reuse a port (restart on the same address). */
  acmePort?: number;
  /** Require External Account Binding with these key id -> base64url HMAC keys. */
  eabKeys?: Record<string, string>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  // Reused when present, so a Pebble restarted in the same dir keeps the HTTPS identity clients trust.
  const { access } = await import('node:fs/promises');
  const existing = path.join(opts.dir, 'pebble-listener-ca.pem');
  const pki = await access(existing).then(
    () => ({ caCert: existing, leafCert: path.join(opts.dir, 'pebble-listener-leaf.pem'), leafKey: path.join(opts.dir, 'pebble-listener-leaf.key'), intermediateCert: path.join(opts.dir, 'pebble-listener-int.pem') }),
    () => makeTestPki(opts.dir, ['localhost', '127.0.0.1'], 'pebble-listener'),
  );
  const [acmePort, mgmtPort, dnsPort, dnsMgmtPort] = await freePorts(4);
  const port = opts.acmePort ?? acmePort!;
  const stops: Array<() => Promise<void>> = [];
  let dnsServer = opts.dnsServer;
  let dnsOut = () => '';
  if (!dnsServer) {
    const cts = run('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsMgmtPort}`, '-defaultIPv6', '']);
    stops.push(cts.stop);
    dnsOut = cts.output;
    dnsServer = `127.0.0.1:${dnsPort}`;
  }
  const configFile = path.join(opts.dir, `pebble-${port}.json`);
  // The listener certificate must be a full chain for Node clients that trust only its root.
  const { readFile } = await import('node:fs/promises');
  const chainFile = path.join(opts.dir, 'pebble-listener-chain.pem');
  await writeFile(chainFile, (await readFile(pki.leafCert, 'utf8')) + (await readFile(pki.intermediateCert, 'utf8')));
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: chainFile,
        privateKey: pki.leafKey,
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.eabKeys !== undefined,
        ...(opts.eabKeys ? { externalAccountMACKeys: opts.eabKeys } : {}),
        certificateValidityPeriod: opts.validitySeconds ?? 3600,
      },
    }),
  );
  const pebble = run('pebble', ['-config', configFile, '-dnsserver', dnsServer, '-strict=false'], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  stops.unshift(pebble.stop);
  const listenerCa = await readFile(pki.caCert, 'utf8');
  const stopAll = async () => {
    for (const s of stops) await s();
  };
  try {
    await waitFor(async () => (await request(`https://127.0.0.1:${port}/dir`, { ca: listenerCa })).status === 200, 15_000, 'Pebble to answer');
  } catch (err) {
    await stopAll();
    throw new Error(`${(err as Error).message}\n${pebble.output()}\n${dnsOut()}`);
  }
  const rootPem = (await request(`https://127.0.0.1:${mgmtPort}/roots/0`, { ca: listenerCa })).text;
  const rootFile = path.join(opts.dir, `pebble-root-${port}.pem`);
  await writeFile(rootFile, rootPem);
  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    listenerCa: pki.caCert,
    rootPem,
    rootFile,
    httpPort: opts.httpPort,
    tlsPort: opts.tlsPort,
    acmePort: port,
    stop: stopAll,
    output: () => pebble.output() + dnsOut(),
  };
}

/** The environment of a `minato serve` that orders from `pebble` for localhost and 127.0.0.1. */
export function acmeServeEnv(pebble: Pebble, httpPort: number, challenges: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MINATO_TLS_MODE: 'acme',
    MINATO_TLS_ACME_DIRECTORY: pebble.directoryUrl,
    MINATO_TLS_ACME_NAMES: 'localhost,127.0.0.1',
    MINATO_TLS_ACME_AGREE_TO_TERMS: 'true',
    MINATO_TLS_ACME_EMAIL: 'ops@example.test',
    MINATO_TLS_ACME_CA_BUNDLE: pebble.listenerCa,
    MINATO_TLS_ACME_TRUSTED_ROOTS: pebble.rootFile,
    MINATO_TLS_ACME_CHALLENGES: challenges,
    MINATO_TLS_ACME_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    MINATO_TLS_ACME_RETRY_MIN_SECONDS: '1',
    MINATO_LOG_ACCESS_LOG: 'false',
    ...extra,
  };
}
