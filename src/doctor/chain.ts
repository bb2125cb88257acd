// What is wrong with the certificate chain a server sends, decided from the certificates alone
// (the order they came in) and the roots this machine knows. Pure: no I/O.
import type { X509Certificate } from 'node:crypto';
import { sanNames } from '../tls/describe.js';
import type { Target } from './target.js';

export interface Verdict {
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  cause?: string;
  fix?: string;
}

export function issues(issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

export function selfSigned(cert: X509Certificate): boolean {
  return issues(cert, cert);
}

/** "CN=foo" from a multi-line subject or issuer. */
export function dn(name: string): string {
  return name.split('\n').join(', ');
}

const FULLCHAIN_FIX =
  'serve the full chain, leaf first: nginx ssl_certificate fullchain.pem; (not cert.pem), minato tls.cert: fullchain.pem; ' +
  'for your own CA: cat server.crt intermediate.crt > fullchain.pem';

/**
 * `sent`: the certificates in the order the server sent them; `roots`: every root any store here
 * trusts (a chain that reaches one of them is complete, whether or not each client trusts it).
 */
export function chainVerdict(sent: X509Certificate[], roots: X509Certificate[]): Verdict {
  const leaf = sent[0]!;
  const trueLeaf = sent.find((c) => !c.ca);
  if (leaf.ca && trueLeaf) {
    return {
      status: 'fail',
      detail: `the first certificate is ${dn(leaf.subject)}, a CA; the server's own (${dn(trueLeaf.subject)}) comes later`,
      cause: 'clients take the first certificate as the server\'s; with a CA certificate first they fail ("certificate signed by unknown authority" or a name mismatch)',
      fix: `put the server certificate first in the file (cat cert.pem chain.pem > fullchain.pem); ${FULLCHAIN_FIX}`,
    };
  }
  // Follow issuers from the leaf through what was sent, in any order.
  const path = [leaf];
  for (;;) {
    const last = path[path.length - 1]!;
    if (selfSigned(last)) break;
    const next = sent.find((c) => !path.includes(c) && issues(c, last));
    if (!next) break;
    path.push(next);
  }
  const top = path[path.length - 1]!;
  const extras = sent.filter((c) => !path.includes(c));
  const inOrder = path.every((c, i) => sent[i] === c);
  const intermediates = path.slice(1).filter((c) => !selfSigned(c)).length;
  const reachesRoot = selfSigned(top) || roots.some((r) => issues(r, top));
  let detail =
    path.length === 1 ? (selfSigned(leaf) ? 'a self-signed certificate' : 'leaf only') : `leaf + ${intermediates} intermediate${intermediates === 1 ? '' : 's'}`;
  if (path.length > 1 && selfSigned(top)) detail += ' + root';
  detail = `server sends ${detail}`;

  if (path.length === 1 && !selfSigned(leaf) && !reachesRoot) {
    return {
      status: 'fail',
      detail: `${detail}; its issuer ${dn(leaf.issuer)} is not sent`,
      cause:
        `the server sends only its own certificate, and its issuer (${dn(leaf.issuer)}) is neither sent nor a root this machine has: ` +
        'clients fail with "x509: certificate signed by unknown authority" (often the server was given cert.pem instead of fullchain.pem, ' +
        'or a PEM file with the certificates glued together without a newline, so only the first was read)',
      fix: `${FULLCHAIN_FIX}. (If ${dn(leaf.issuer)} is itself a root CA, have clients trust it instead: see tls.trust)`,
    };
  }
  if (!reachesRoot && !top.ca) {
    return {
      status: 'fail',
      detail: `${detail}; the chain breaks after ${dn(top.subject)}`,
      cause: `the issuer of ${dn(top.subject)} (${dn(top.issuer)}) is not sent`,
      fix: FULLCHAIN_FIX,
    };
  }
  if (path.length > 1 && !reachesRoot) detail += ` (ends with ${dn(top.subject)}, issued by ${dn(top.issuer)})`;
  if (!inOrder) {
    return {
      status: 'warn',
      detail: `${detail}, out of order: ${sent.map((c) => dn(c.subject)).join(' -> ')}`,
      cause: 'the certificates are not sent leaf first and then each issuer in turn; most clients cope, strict ones do not',
      fix: 'order the file: server certificate, then its issuer, then that one\'s issuer (minato reorders tls.cert itself)',
    };
  }
  if (extras.length > 0) {
    return {
      status: 'warn',
      detail: `${detail}, plus ${extras.length} certificate(s) not in the chain: ${extras.map((c) => dn(c.subject)).join(', ')}`,
      cause: 'the server sends certificates that do not belong to its chain (an old intermediate, another site\'s certificate)',
      fix: 'remove them from the certificate file',
    };
  }
  return { status: 'pass', detail };
}

/** tls.name: whether the leaf covers the host name or IP address the client uses. */
export function nameVerdict(leaf: X509Certificate, target: Pick<Target, 'hostname' | 'ip' | 'hostPort'>): Verdict {
  const { hostname, ip } = target;
  const names = sanNames(leaf);
  const listed = names.length > 0 ? names.join(', ') : `none (only ${dn(leaf.subject)})`;
  const ok = ip ? leaf.checkIP(hostname) !== undefined : leaf.checkHost(hostname, { subject: 'never' }) !== undefined;
  if (ok) return { status: 'pass', detail: `${hostname} is in the certificate (${listed})` };
  if (names.length === 0) {
    return {
      status: 'fail',
      detail: `the certificate has no subjectAltName (${dn(leaf.subject)})`,
      cause: 'clients ignore the subject CN (Go since 1.15: "x509: certificate relies on legacy Common Name field"); names must be in subjectAltName',
      fix: `reissue it with subjectAltName=${ip ? 'IP' : 'DNS'}:${hostname} (openssl -addext; minato's private CA and ACME do this)`,
    };
  }
  const dnsNames = names.filter((n) => !/^[\d.]+$|:/.test(n));
  return {
    status: 'fail',
    detail: `${hostname} is not in the certificate (${listed})`,
    cause: ip
      ? `the client connects to the IP address ${hostname}, and the certificate has no IP SAN for it (a DNS name that resolves to it does not count): clients fail with "x509: cannot validate certificate for ${hostname} because it doesn't contain any IP SANs"`
      : `the certificate is for ${listed}, not ${hostname}: clients fail with "x509: certificate is valid for ${names[0]}, not ${hostname}"`,
    fix:
      (dnsNames.length > 0 ? `use a name the certificate has (https://${dnsNames[0]}${/:\d+$/.exec(target.hostPort)?.[0] ?? ''}), or ` : '') +
      `reissue the certificate with ${ip ? 'IP' : 'DNS'}:${hostname} in subjectAltName (minato: add it to tls.ca.names or tls.acme.names)`,
  };
}

const DAY = 86_400_000;
const EXPIRY_WARN_DAYS = 14;

/** tls.expiry over the certificates of the chain (leaf first). */
export function expiryVerdict(chain: X509Certificate[], now = Date.now()): Verdict {
  for (const c of chain) {
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    const which = c === chain[0] ? 'the server certificate' : `the chain certificate ${dn(c.subject)}`;
    if (to < now) {
      return {
        status: 'fail',
        detail: `${which} expired on ${new Date(to).toISOString()}`,
        cause: `${which} has expired (${Math.ceil((now - to) / DAY)} days ago): clients fail with "x509: certificate has expired or is not yet valid"`,
        fix: c === chain[0] ? 'renew it and reload the server (certbot renew; nginx -s reload). minato renews ACME and private-CA certificates itself: see minato cert status' : 'serve the current intermediate from your CA (download a fresh fullchain.pem)',
      };
    }
    if (from > now) {
      return {
        status: 'fail',
        detail: `${which} is not valid before ${new Date(from).toISOString()}`,
        cause: `${which} is not valid yet, or this machine's clock is behind (see http.clock)`,
        fix: 'check the clock here (timedatectl; enable NTP) or wait until the certificate is valid',
      };
    }
  }
  const to = Date.parse(chain[0]!.validTo);
  const days = Math.floor((to - now) / DAY);
  const detail = `valid until ${new Date(to).toISOString()} (${days} days)`;
  if (to - now < EXPIRY_WARN_DAYS * DAY) {
    return {
      status: 'warn',
      detail,
      cause: `the server certificate expires in less than ${EXPIRY_WARN_DAYS} days`,
      fix: 'renew it now (certbot renew; then reload the server). minato renews ACME and private-CA certificates itself: see minato cert status',
    };
  }
  return { status: 'pass', detail };
}
