// What `minato doctor` is pointed at: a registry URL (https://host:port) or host[:port], which
// clients (docker, podman, containerd) take as https on port 443.
import { isIP } from 'node:net';

export class TargetError extends Error {}

export interface Target {
  /** Origin only, as doctor reaches it: https://host:port (no path). */
  origin: string;
  scheme: 'https' | 'http';
  /** Without IPv6 brackets. */
  hostname: string;
  port: number;
  /** host[:port] as clients name the registry in image references and certs.d directories (no :443). */
  hostPort: string;
  /** The hostname is an IP address literal (no DNS, and the certificate needs an IP SAN). */
  ip: boolean;
}

export function parseTarget(input: string): Target {
  const text = input.trim();
  if (text === '') throw new TargetError('give the registry to check: a URL (https://registry.example.com) or host[:port]');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TargetError(`"${input}" is not a registry URL or host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetError(`"${input}": the URL must start with https:// or http://`);
  if (url.username || url.password) throw new TargetError('put no credentials in the URL; use --user and --password-stdin (or MINATO_PASSWORD)');
  if (url.search || url.hash || !/^\/(v2\/?)?$/.test(url.pathname)) {
    throw new TargetError(`"${input}": give the registry only (${url.protocol}//${url.host}), not a path or a repository`);
  }
  if (url.hostname === '') throw new TargetError(`"${input}" has no host name`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  return {
    origin: `${url.protocol}//${url.host}`,
    scheme,
    hostname,
    port: url.port ? Number(url.port) : scheme === 'https' ? 443 : 80,
    hostPort: url.host,
    ip: isIP(hostname) !== 0,
  };
}

/** scheme://host:port of an absolute URL with the default port made explicit, for comparisons. */
export function originKey(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}
