// tls.handshake, tls.chain, tls.name, tls.expiry and tls.trust.*: what the server sends and
// whether each client on this machine would accept it. The host name is judged once, in
// tls.name; the trust checks judge only the chain, so each failure is reported where it lies.
import { X509Certificate } from 'node:crypto';
import type { Report } from './check.js';
import { chainVerdict, dn, expiryVerdict, nameVerdict, type Verdict } from './chain.js';
import type { ResolvedAddress } from './network-checks.js';
import type { Target } from './target.js';
import { certificatesSent, handshake, HandshakeError, type HandshakeResult, type TlsEndpoint } from './tls-probe.js';
import type { TrustStore } from './trust-stores.js';

export interface TlsOutcome {
  /** A TLS session could be made at all (else nothing over HTTPS can run). */
  handshake: boolean;
  /** A client would accept this server: some store verifies the chain, the name matches, the dates are valid. */
  verified: boolean;
  /** Roots of the first store that verifies (what the HTTP checks trust). */
  ca?: string[];
  /** The store those roots come from. */
  store?: TrustStore;
}

const TLS_CHECKS = ['tls.chain', 'tls.name', 'tls.expiry'] as const;
const TITLES: Record<string, string> = {
  'tls.handshake': 'TLS handshake',
  'tls.chain': 'certificate chain sent',
  'tls.name': 'name in certificate',
  'tls.expiry': 'certificate validity',
};

function trustTitle(store: TrustStore): string {
  return store.id === 'system' ? 'trusted by the system store' : store.id === 'ca-file' ? 'trusted by --ca-file' : `trusted by ${store.id === 'docker' ? 'docker' : 'podman/skopeo'}`;
}

/** For an http:// target: one warning, and every other TLS check skipped. */
export function plainHttp(report: Report, target: Target, stores: TrustStore[]): void {
  report.warn(
    'tls.handshake',
    TITLES['tls.handshake']!,
    'plain HTTP (http:// URL): no TLS',
    'docker, podman and containerd refuse a plain-HTTP registry unless it is configured as insecure (docker allows 127.0.0.0/8 by itself), and passwords travel in clear',
    `serve HTTPS (minato: --tls-cert/--tls-key, or tls.mode acme|ca), or mark it insecure: docker: "insecure-registries": ["${target.hostPort}"] in /etc/docker/daemon.json; podman: [[registry]] location="${target.hostPort}" insecure=true in /etc/containers/registries.conf`,
  );
  for (const id of TLS_CHECKS) report.skip(id, TITLES[id]!, 'plain HTTP');
  for (const s of stores) report.skip(`tls.trust.${s.id}`, trustTitle(s), 'plain HTTP');
}

/** When no TCP connection could be made. */
export function skipTls(report: Report, stores: TrustStore[], reason: string): void {
  for (const id of ['tls.handshake', ...TLS_CHECKS]) report.skip(id, TITLES[id]!, reason);
  for (const s of stores) report.skip(`tls.trust.${s.id}`, trustTitle(s), reason);
}

function handshakeFailure(err: unknown, where: string): { cause: string; fix: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (/wrong version number|packet length too long|http request|unknown protocol/i.test(message)) {
    return {
      cause: `${where} answers plain HTTP, not TLS`,
      fix: `use http://${where} (clients then need it listed as an insecure registry), or serve TLS there (minato: --tls-cert/--tls-key or tls.mode acme|ca)`,
    };
  }
  if (err instanceof HandshakeError && (err.code === 'ECONNRESET' || /socket disconnected/i.test(message))) {
    return { cause: `${where} closed the connection during the TLS handshake (it may not speak TLS, want a client certificate, or refuse the server name sent)`, fix: 'check the server\'s TLS configuration and its error log' };
  }
  if (/unsupported protocol|no protocols available|version/i.test(message)) {
    return { cause: `${where} offers no TLS version this client accepts (${message})`, fix: 'enable TLS 1.2 and 1.3 on the server (nginx: ssl_protocols TLSv1.2 TLSv1.3;)' };
  }
  return { cause: `the TLS handshake with ${where} failed: ${message}`, fix: 'check the server\'s TLS configuration and its error log' };
}

export async function checkTls(report: Report, target: Target, use: ResolvedAddress, stores: TrustStore[]): Promise<TlsOutcome> {
  const endpoint: TlsEndpoint = { address: use.address, port: target.port, ...(target.ip ? {} : { servername: target.hostname }) };
  const where = target.hostPort;
  let first: HandshakeResult;
  try {
    first = await handshake(endpoint);
  } catch (err) {
    const { cause, fix } = handshakeFailure(err, where);
    report.fail('tls.handshake', TITLES['tls.handshake']!, `no TLS session with ${where}`, cause, fix);
    for (const id of TLS_CHECKS) report.skip(id, TITLES[id]!, 'no TLS handshake');
    for (const s of stores) report.skip(`tls.trust.${s.id}`, trustTitle(s), 'no TLS handshake');
    return { handshake: false, verified: false };
  }
  if (first.protocol === 'TLSv1' || first.protocol === 'TLSv1.1') {
    report.fail('tls.handshake', TITLES['tls.handshake']!, `${first.protocol}, ${first.cipher}`, `the server offers at most ${first.protocol}; docker, containerd and podman require TLS 1.2 or later`, 'enable TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)');
  } else {
    report.pass('tls.handshake', TITLES['tls.handshake']!, `${first.protocol}, ${first.cipher}`);
  }

  // The chain as sent: from a TLS 1.2 handshake's plaintext Certificate message when the server
  // speaks TLS 1.2; a TLS 1.3-only server hides it, and Node's view is used instead.
  let sent = await handshake(endpoint, { record: true, maxVersion: 'TLSv1.2' })
    .then((r) => certificatesSent(r.received!))
    .catch(() => undefined);
  const orderKnown = sent !== undefined;
  sent ??= first.peerChain; // with no trusted roots given, Node adds none of its own
  const roots = uniqueRoots(stores);
  const chain = chainVerdict(sent, roots);
  if (!orderKnown && chain.status === 'pass') chain.detail += ' (TLS 1.3 only: the order sent could not be checked)';
  report.add({ id: 'tls.chain', title: TITLES['tls.chain']!, ...chain });
  const leaf = sent[0]!;
  const name = nameVerdict(leaf, target);
  report.add({ id: 'tls.name', title: TITLES['tls.name']!, ...name });
  const expiry = expiryVerdict(sent);
  report.add({ id: 'tls.expiry', title: TITLES['tls.expiry']!, ...expiry });

  const results = await Promise.all(stores.map((s) => handshake(endpoint, { ca: s.roots }).catch((err: Error) => err)));
  const verifying = stores.filter((s, i) => s.problems.length === 0 && !(results[i] instanceof Error) && (results[i] as HandshakeResult).authorized);
  const context: TrustContext = { target, chain, expiry, sent, loopback: isLoopback(use.address), caFile: stores.find((s) => s.id === 'ca-file'), anyVerifies: verifying.length > 0 };
  stores.forEach((store, i) => report.add({ id: `tls.trust.${store.id}`, title: trustTitle(store), ...trustVerdict(store, results[i]!, context) }));

  const store = verifying[0];
  return {
    handshake: true,
    verified: !!store && name.status === 'pass' && expiry.status !== 'fail',
    ...(store ? { ca: store.roots, store } : {}),
  };
}

function uniqueRoots(stores: TrustStore[]): X509Certificate[] {
  const seen = new Set<string>();
  const out: X509Certificate[] = [];
  for (const pem of stores.flatMap((s) => s.roots)) {
    if (seen.has(pem)) continue;
    seen.add(pem);
    try {
      out.push(new X509Certificate(pem));
    } catch {
      // An unparsable entry in a bundle: OpenSSL skips it as well.
    }
  }
  return out;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

interface TrustContext {
  target: Target;
  chain: Verdict;
  expiry: Verdict;
  sent: X509Certificate[];
  loopback: boolean;
  caFile?: TrustStore;
  anyVerifies: boolean;
}

/** Plain words for OpenSSL's verification codes; `top` is the last certificate the server sent. */
function verifyCause(code: string, top: X509Certificate): string {
  switch (code) {
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return `this store does not hold ${dn(top.issuer)}, the CA the chain leads to`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `the server does not send the issuer of its certificate (${dn(top.issuer)}), and this store does not hold it`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return `the chain ends in the root ${dn(top.subject)}, which this store does not trust`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'the server certificate is self-signed and this store does not trust it';
    case 'CERT_HAS_EXPIRED':
      return 'a certificate of the chain has expired';
    case 'CERT_NOT_YET_VALID':
      return 'a certificate of the chain is not valid yet';
    case 'CERT_SIGNATURE_FAILURE':
      return 'a signature in the chain does not verify';
    case 'INVALID_CA':
      return 'a certificate in the chain that signs another is not a CA';
    default:
      return `the chain does not verify (${code}); it ends in ${dn(top.subject)}, issued by ${dn(top.issuer)}`;
  }
}

function trustVerdict(store: TrustStore, result: HandshakeResult | Error, ctx: TrustContext): Verdict {
  const status = ctx.anyVerifies ? 'warn' : 'fail';
  const client = store.id === 'docker' ? 'docker' : store.id === 'containers' ? 'podman and skopeo' : 'clients using it';
  if (store.problems.length > 0) {
    return { status, detail: `${store.label}: broken`, cause: `this directory makes ${client} fail before connecting: ${store.problems.join('; ')}`, fix: 'fix the files named above' };
  }
  if (result instanceof Error) return { status, detail: `${store.label}: no handshake`, cause: result.message, fix: 'see tls.handshake' };
  if (result.authorized) return { status: 'pass', detail: `the chain verifies with ${store.label}` };

  const code = result.authorizationError ?? 'UNKNOWN';
  let cause = verifyCause(code, ctx.sent[ctx.sent.length - 1]!);
  let fix: string;
  if (ctx.chain.status === 'fail') {
    cause += '; the server does not send a usable chain (see tls.chain)';
    fix = 'fix the chain on the server (tls.chain), not the clients';
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    fix = 'see tls.expiry';
  } else {
    cause += `: ${client} would fail with "x509: certificate signed by unknown authority"`;
    fix = installFix(store, ctx);
  }
  if (store.id === 'docker' && ctx.loopback) cause += '. (docker skips certificate checks for registries on 127.0.0.0/8, so docker itself works here; other clients do not)';
  return { status, detail: `${store.label}: ${code}`, cause, fix };
}

/** How to make one store trust the registry's CA. */
function installFix(store: TrustStore, ctx: TrustContext): string {
  const ca = ctx.caFile && ctx.anyVerifies ? ctx.caFile.sources[0]! : 'ca.crt';
  const host = ctx.target.hostPort;
  const where = ca === 'ca.crt' ? ' (ca.crt: the CA that issued the chain; for a minato private CA, GET /ca.crt from the registry or run minato trust on it)' : '';
  switch (store.id) {
    case 'docker':
    case 'containers':
      return `mkdir -p ${store.hostDir} && cp ${ca} ${store.hostDir}/ca.crt${where}; minato's private CA: minato trust --host ${host} --format ${store.id === 'docker' ? 'docker' : 'podman'}`;
    case 'system':
      return `Debian/Ubuntu: cp ${ca} /usr/local/share/ca-certificates/registry.crt && update-ca-certificates; RHEL/Fedora: cp ${ca} /etc/pki/ca-trust/source/anchors/ && update-ca-trust${where}`;
    case 'ca-file':
      return `${store.sources[0]} does not hold the CA that issued this chain: give the CA certificate of ${host} (for a minato private CA: <data>/ca/ca.crt, or GET /ca.crt)`;
  }
}
