// System -> Certificates: the certificate the registry serves (names, issuer, serial, validity
// with the days left as a bar, source), the next renewal and the last error with its advice,
// the DDNS records; administrators can renew now. In private-CA mode it links to the trust page.
import { useEffect, useState } from 'react';
import { get, send } from '../api';
import { ErrorMessage, Link, Loading, Outcome, Time, useLoad } from '../components';
import { absolute } from '../format';
import { useSession } from '../session';

interface CertificateStatus {
  source: string;
  names: string[];
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  keyType?: string;
  acme?: { directory: string; challenges: string[] };
  files?: { cert: string; key: string };
  nextRenewal?: string;
  lastError?: { message: string; at: string };
  renewalFailures?: number;
  ordering?: boolean;
}
interface DdnsStatus {
  provider: string;
  names: string[];
  lastCheck?: string;
  addresses?: { ipv4?: string; ipv6?: string };
  records?: Array<{ name: string; type: string; address: string }>;
  lastError?: { message: string; at: string };
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

/** What to do about a renewal failure, from the words of the error. */
function adviceFor(message: string): string {
  if (/rate ?limit/i.test(message)) return 'The CA refuses more orders for now: wait until its limit resets (the next attempt is scheduled), or use its staging directory while testing.';
  if (/dns|txt|propagat/i.test(message)) return 'The DNS-01 challenge failed: check the DNS provider credentials and that the TXT record can be written and is seen by public resolvers.';
  if (/connect|timeout|refused|unreachable/i.test(message)) return 'The CA could not be reached, or could not reach this registry: check the network, the firewall and that port 80/443 forwards here for HTTP-01 and TLS-ALPN-01.';
  return 'The registry keeps serving the current certificate and retries with backoff; `minato doctor` checks the whole chain.';
}

export function CertificatesPage() {
  const { user, info } = useSession();
  useEffect(() => void (document.title = 'Certificates · minato'), []);
  // Only what this registry has is asked for (a 404 would be logged by the browser as an error).
  const cert = useLoad(() => (info.with_certificate ? get<CertificateStatus>('/certificate') : Promise.resolve(undefined)), [info.with_certificate]);
  const ddns = useLoad(() => (info.with_ddns ? get<DdnsStatus>('/ddns') : Promise.resolve(undefined)), [info.with_ddns]);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const plain = !info.with_certificate;
  const c = cert.data;
  return (
    <>
      <h1>Certificates</h1>
      {info.has_ca_root && (
        <p>
          This registry runs its own certificate authority. <Link to="/system/trust">Trust this registry</Link> on each client.
        </p>
      )}
      {plain && <p>This registry serves plain HTTP (tls.mode off, or TLS terminated by a proxy in front of it): it has no certificate of its own to show.</p>}
      <ErrorMessage error={cert.error} />
      {cert.loading && !plain && <Loading what="the certificate" />}
      {c && (
        <section className="card" aria-labelledby="served-h">
          <h2 id="served-h">Served certificate</h2>
          <dl className="facts">
            <dt>Names</dt>
            <dd>
              <NameList names={c.names.filter((n) => !IP.test(n))} />
            </dd>
            <dt>IP addresses</dt>
            <dd>
              <NameList names={c.names.filter((n) => IP.test(n))} />
            </dd>
            <dt>Issuer</dt>
            <dd>{c.issuer}</dd>
            <dt>Serial</dt>
            <dd>
              <code className="wrap" data-testid="serial">
                {c.serial}
              </code>
            </dd>
            <dt>Key</dt>
            <dd>{c.keyType ?? <span className="muted">unknown</span>}</dd>
            <dt>Source</dt>
            <dd>
              <Source status={c} />
            </dd>
            <dt>Valid from</dt>
            <dd>{absolute(c.notBefore)}</dd>
            <dt>Valid until</dt>
            <dd>
              {absolute(c.notAfter)} <Validity notBefore={c.notBefore} notAfter={c.notAfter} />
            </dd>
            <dt>Next renewal</dt>
            <dd>{c.ordering ? 'renewing now' : <Time iso={c.nextRenewal} never="not scheduled" />}</dd>
          </dl>
          {c.lastError && (
            <div className="error" role="alert">
              <p>
                <strong>Last renewal failed</strong> (<Time iso={c.lastError.at} />
                {c.renewalFailures ? `, ${c.renewalFailures} failures in a row` : ''}): {c.lastError.message}
              </p>
              <p className="advice">{adviceFor(c.lastError.message)}</p>
            </div>
          )}
          {user.sysadmin_flag && (
            <>
              <button
                type="button"
                className="primary"
                onClick={async () => {
                  setError(undefined);
                  setDone(undefined);
                  try {
                    await send('POST', '/certificate/renew');
                    setDone('Renewal started: this page shows the new certificate once it is issued.');
                    setTimeout(cert.reload, 3000);
                  } catch (err) {
                    setError(err);
                  }
                }}
              >
                Renew now
              </button>
              <Outcome error={error} done={done} />
            </>
          )}
        </section>
      )}
      <ErrorMessage error={ddns.error} />
      {ddns.data && (
        <section className="card" aria-labelledby="ddns-h">
          <h2 id="ddns-h">Dynamic DNS ({ddns.data.provider})</h2>
          <dl className="facts">
            <dt>Names</dt>
            <dd>{ddns.data.names.join(', ')}</dd>
            <dt>Addresses found</dt>
            <dd>{[ddns.data.addresses?.ipv4, ddns.data.addresses?.ipv6].filter(Boolean).join(', ') || <span className="muted">none yet</span>}</dd>
            <dt>Last check</dt>
            <dd>
              <Time iso={ddns.data.lastCheck} />
            </dd>
          </dl>
          {ddns.data.records && ddns.data.records.length > 0 && (
            <ul className="plain">
              {ddns.data.records.map((r) => (
                <li key={`${r.name}-${r.type}`}>
                  <code>
                    {r.name} {r.type} {r.address}
                  </code>
                </li>
              ))}
            </ul>
          )}
          {ddns.data.lastError && <ErrorMessage error={new Error(`The last update failed: ${ddns.data.lastError.message}`)} />}
        </section>
      )}
    </>
  );
}

/** Where the certificate comes from, in words, with what the operator configured. */
function Source({ status }: { status: CertificateStatus }) {
  if (status.source === 'acme' && status.acme)
    return (
      <>
        ACME from <code className="wrap">{status.acme.directory}</code>, answering {status.acme.challenges.join(', ') || 'no challenge'}
      </>
    );
  if (status.source === 'files' && status.files)
    return (
      <>
        files <code className="wrap">{status.files.cert}</code> and <code className="wrap">{status.files.key}</code> (re-read when they change)
      </>
    );
  if (status.source === 'ca') return <>the registry's own certificate authority (issued and renewed by itself)</>;
  return <>{status.source}</>;
}

function Validity({ notBefore, notAfter }: { notBefore: string; notAfter: string }) {
  // A short-lived certificate (a test CA's, an hour or a day) is counted in minutes or hours.
  const lifetimeMs = Date.parse(notAfter) - Date.parse(notBefore);
  const unit = lifetimeMs < 2 * 3_600_000 ? { ms: 60_000, name: 'minutes' } : lifetimeMs < 2 * 86_400_000 ? { ms: 3_600_000, name: 'hours' } : { ms: 86_400_000, name: 'days' };
  const total = Math.max(1, Math.floor(lifetimeMs / unit.ms));
  const left = Math.floor((Date.parse(notAfter) - Date.now()) / unit.ms);
  return (
    <span className="usage">
      <meter min={0} max={total} value={Math.max(0, left)} low={total / 3} high={total * 0.9} optimum={total} aria-label={`${left} of ${total} ${unit.name} left`} />
      <span>{left < 0 ? `expired ${-left} ${unit.name} ago` : `${left} of ${total} ${unit.name} left`}</span>
    </span>
  );
}

function NameList({ names }: { names: string[] }) {
  if (names.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="inline-list">
      {names.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}
