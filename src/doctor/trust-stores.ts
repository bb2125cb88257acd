// The places clients take their trusted CAs from, read the way those clients read them:
// - the system store: the first bundle file Go (docker, containerd, podman) looks for, or
//   SSL_CERT_FILE; Node's own Mozilla roots where none exists (macOS, Windows);
// - --ca-file: exactly that file;
// - docker: the system store plus /etc/docker/certs.d/HOST[:PORT]/*.crt;
// - podman, skopeo, buildah (containers/image): the system store plus the first of
//   /etc/containers/certs.d/HOST[:PORT]/ and /etc/docker/certs.d/HOST[:PORT]/ that exists.
// In a certs.d directory *.crt are CA roots and *.cert + *.key client certificate pairs; a
// *.cert without its *.key (often a CA saved as ca.cert) makes both clients fail.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { splitPemCertificates } from '../tls/cert-files.js';
import type { Target } from './target.js';

export type StoreId = 'system' | 'ca-file' | 'docker' | 'containers';

export interface TrustStore {
  id: StoreId;
  /** "docker (/etc/docker/certs.d/host:5443)" */
  label: string;
  /** Trusted roots, PEM. */
  roots: string[];
  /** Files or directories that were read. */
  sources: string[];
  /** Mistakes in the store itself that make its client fail whatever the server sends. */
  problems: string[];
  /** For docker and containers: the per-host directory this client would read (may not exist). */
  hostDir?: string;
}

/** Go's list (crypto/x509/root_linux.go): the first one that exists is the system store. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

export class TrustStoreError extends Error {}

export async function systemStore(): Promise<TrustStore> {
  const file = [process.env.SSL_CERT_FILE, ...SYSTEM_BUNDLES].find((f): f is string => !!f && existsSync(f));
  if (!file) return { id: 'system', label: "system store (Node's built-in Mozilla roots)", roots: [...rootCertificates], sources: [], problems: [] };
  return { id: 'system', label: `system store (${file})`, roots: splitPemCertificates(await readFile(file, 'utf8')), sources: [file], problems: [] };
}

/** --ca-file; an unreadable or empty file is the caller's mistake (a usage error). */
export async function caFileStore(file: string): Promise<TrustStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TrustStoreError(`cannot read --ca-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const roots = splitPemCertificates(text);
  if (roots.length === 0) throw new TrustStoreError(`--ca-file ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return { id: 'ca-file', label: `--ca-file ${file}`, roots, sources: [path.resolve(file)], problems: [] };
}

/** Directory names a client would look for: host[:port] as written, and host:443 for the default port. */
function hostDirNames(target: Target): string[] {
  return target.port === 443 && target.scheme === 'https' ? [target.hostPort, `${target.hostname}:443`] : [target.hostPort];
}

function firstExisting(bases: string[], target: Target): string | undefined {
  for (const base of bases) for (const name of hostDirNames(target)) if (existsSync(path.join(base, name))) return path.join(base, name);
  return undefined;
}

/** Reads one certs.d/HOST directory as docker and containers/image do. */
async function readHostDir(dir: string): Promise<{ roots: string[]; files: string[]; problems: string[] }> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const roots: string[] = [];
  const files: string[] = [];
  const problems: string[] = [];
  for (const name of entries.sort()) {
    const file = path.join(dir, name);
    if (name.endsWith('.crt')) {
      const certs = splitPemCertificates(await readFile(file, 'utf8').catch(() => ''));
      if (certs.length === 0) problems.push(`${file} holds no PEM certificate`);
      roots.push(...certs);
      files.push(file);
    } else if (name.endsWith('.cert') && !entries.includes(`${name.slice(0, -5)}.key`)) {
      problems.push(`${file} is read as a client certificate and its key ${name.slice(0, -5)}.key is missing; if it is the CA certificate, rename it to ${name.slice(0, -5)}.crt`);
    } else if (name.endsWith('.key') && !entries.includes(`${name.slice(0, -4)}.cert`)) {
      problems.push(`${file} is read as a client key and its certificate ${name.slice(0, -4)}.cert is missing`);
    }
  }
  return { roots, files, problems };
}

/** docker: system roots + <dockerDir>/HOST[:PORT]/*.crt. */
export async function dockerStore(system: TrustStore, dockerDir: string, target: Target): Promise<TrustStore> {
  return certsDirStore('docker', 'docker', [dockerDir], system, target);
}

/** podman/skopeo/buildah: system roots + the first of <containersDir>/HOST, <dockerDir>/HOST. */
export async function containersStore(system: TrustStore, containersDir: string, dockerDir: string, target: Target): Promise<TrustStore> {
  return certsDirStore('containers', 'podman/skopeo', [containersDir, dockerDir], system, target);
}

async function certsDirStore(id: StoreId, client: string, bases: string[], system: TrustStore, target: Target): Promise<TrustStore> {
  const found = firstExisting(bases, target);
  const hostDir = found ?? path.join(bases[0]!, target.hostPort);
  if (!found) return { id, label: `${client} (system store; no ${hostDir}/)`, roots: system.roots, sources: system.sources, problems: [], hostDir };
  const dir = await readHostDir(found);
  return { id, label: `${client} (system store + ${found}/)`, roots: [...system.roots, ...dir.roots], sources: [...system.sources, ...dir.files], problems: dir.problems, hostDir: found };
}
