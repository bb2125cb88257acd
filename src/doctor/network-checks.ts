// dns.resolve and tcp.connect: which addresses the name has (A and AAAA, from the same resolver
// clients use: getaddrinfo, so /etc/hosts counts), which one a client would use, and whether it
// accepts a TCP connection on the registry's port.
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Report } from './check.js';
import type { Target } from './target.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** This machine has a route to it (a UDP connect, which sends nothing, succeeded). */
  routable: boolean;
}

type Verdict = { status: 'pass' | 'warn' | 'fail'; detail: string; cause?: string; fix?: string };

/** The decision of dns.resolve, from what the resolver returned (in its order). */
export function resolutionVerdict(hostname: string, addresses: ResolvedAddress[]): Verdict & { use?: ResolvedAddress } {
  const list = (family: 4 | 6) => addresses.filter((a) => a.family === family).map((a) => a.address);
  const v4 = list(4);
  const v6 = list(6);
  const seen = `A: ${v4.join(', ') || 'none'}; AAAA: ${v6.join(', ') || 'none'}`;
  const use = addresses.find((a) => a.routable);
  if (!use) {
    if (v4.length === 0 && v6.length > 0) {
      return {
        status: 'fail',
        detail: seen,
        cause: `${hostname} resolves only to IPv6 (AAAA) addresses and this machine has no IPv6 route, so no client here can reach it`,
        fix: `add an A record (IPv4) for ${hostname}, or give this machine IPv6 connectivity (a default route: ip -6 route)`,
      };
    }
    return { status: 'fail', detail: seen, cause: `this machine has no route to any address of ${hostname}`, fix: 'check the network configuration (ip route) or the DNS records' };
  }
  const unroutable = addresses.filter((a) => !a.routable);
  if (unroutable.length > 0) {
    return {
      status: 'warn',
      use,
      detail: `${seen}; would use ${use.address}`,
      cause: `no route to ${unroutable.map((a) => a.address).join(', ')}; clients fall back to ${use.address}, some only after a delay`,
      fix: unroutable.some((a) => a.family === 6) ? `remove the AAAA record of ${hostname}, or give this machine IPv6 connectivity` : 'check the DNS records',
    };
  }
  return { status: 'pass', use, detail: `${seen}; would use ${use.address}` };
}

/** Whether the kernel has a route to `address`: connecting a UDP socket looks the route up and sends nothing. */
function hasRoute(address: string, family: 4 | 6): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (ok: boolean) => {
      socket.close();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.connect(9, address, () => done(true));
  });
}

export async function checkResolution(report: Report, target: Target): Promise<ResolvedAddress | undefined> {
  const title = 'name resolution';
  if (target.ip) {
    const family = net.isIP(target.hostname) === 6 ? 6 : 4;
    const routable = await hasRoute(target.hostname, family);
    const verdict = resolutionVerdict(target.hostname, [{ address: target.hostname, family, routable }]);
    if (verdict.status !== 'pass') {
      report.add({ id: 'dns.resolve', title, ...verdict, detail: `${target.hostname} is an IP address (no lookup)` });
      return undefined;
    }
    report.pass('dns.resolve', title, `${target.hostname} is an IP address (no lookup)`);
    return verdict.use;
  }
  let found: Array<{ address: string; family: number }>;
  try {
    found = await dns.lookup(target.hostname, { all: true, verbatim: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause =
      code === 'EAI_AGAIN'
        ? `the DNS server did not answer for ${target.hostname} (temporary failure)`
        : `${target.hostname} does not resolve to any address (${code ?? (err as Error).message})`;
    report.fail('dns.resolve', title, `lookup of ${target.hostname} failed`, cause, `check the spelling, the DNS records of ${target.hostname} (an A record), or /etc/hosts; see what this machine resolves with: getent ahosts ${target.hostname}`);
    return undefined;
  }
  const addresses = await Promise.all(
    found.map(async (a) => {
      const family = a.family === 6 ? 6 : 4;
      return { address: a.address, family, routable: await hasRoute(a.address, family) } as ResolvedAddress;
    }),
  );
  const { use, ...verdict } = resolutionVerdict(target.hostname, addresses);
  report.add({ id: 'dns.resolve', title, ...verdict });
  return use;
}

const CONNECT_TIMEOUT_MS = 5000;

function connectOnce(address: string, port: number): Promise<{ ms: number } | { error: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: address, port });
    const finish = (r: { ms: number } | { error: string }) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => finish({ error: 'ETIMEDOUT' }));
    socket.once('connect', () => finish({ ms: Date.now() - started }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
  });
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Connects to the address a client would use; true when it accepted. */
export async function checkConnect(report: Report, target: Target, use: ResolvedAddress): Promise<boolean> {
  const title = 'TCP connect';
  const where = hostPort(use.address, target.port);
  const r = await connectOnce(use.address, target.port);
  if ('ms' in r) {
    report.pass('tcp.connect', title, `${where} accepted the connection in ${r.ms} ms`);
    return true;
  }
  const causes: Record<string, [string, string]> = {
    ECONNREFUSED: [
      `nothing listens on ${where}, or a firewall rejects the connection`,
      `start the registry, or check the port. A registry listening on 127.0.0.1 (minato's default listen) is reachable only from its own machine: listen on 0.0.0.0:${target.port} (minato: --listen 0.0.0.0:${target.port}; nginx: listen ${target.port} ssl;)`,
    ],
    ETIMEDOUT: [
      `${where} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: a firewall drops the packets, or the address is wrong`,
      `open port ${target.port}/tcp on the registry host (ufw allow ${target.port}/tcp; firewall-cmd --add-port=${target.port}/tcp --permanent) and in any cloud security group`,
    ],
    EHOSTUNREACH: [`no route to ${use.address}`, 'check the network path to the registry (ip route, VPN)'],
    ENETUNREACH: [`no route to ${use.address}`, 'check the network path to the registry (ip route, VPN)'],
  };
  const [cause, fix] = causes[r.error] ?? [`the connection to ${where} failed: ${r.error}`, 'check that the registry runs and the address is right'];
  report.fail('tcp.connect', title, `${where}: ${r.error}`, cause, fix);
  return false;
}
