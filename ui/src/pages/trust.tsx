// "Trust this registry" (tls.mode ca): per client the exact commands, and the files to download
// (ca.crt, hosts.toml, the DaemonSet YAML, the PKCS#12 bundle), from GET /ca/trust.
import { useEffect } from 'react';
import { get } from '../api';
import { CopyLine, ErrorMessage, Loading, useLoad } from '../components';
import { registryHost, useSession } from '../session';

interface TrustBundles {
  ca_certificate_url: string;
  sha256_fingerprint: string;
  install_script_url: string;
  formats: Array<{ format: string; description: string; url: string }>;
}

export function TrustPage() {
  const { info } = useSession();
  const host = registryHost(info);
  useEffect(() => void (document.title = 'Trust this registry · minato'), []);
  const trust = useLoad(() => (info.has_ca_root ? get<TrustBundles>('/ca/trust') : Promise.resolve(undefined)), [info.has_ca_root]);
  const notCa = !info.has_ca_root;
  const t = trust.data;
  const url = (u: string) => new URL(u, location.origin).href;
  return (
    <>
      <h1>Trust this registry</h1>
      {notCa && <p>This registry does not run its own CA (tls.mode is not "ca"): clients trust its certificate as they trust any public one.</p>}
      <ErrorMessage error={trust.error} />
      {trust.loading && !notCa && <Loading what="the trust bundles" />}
      {t && (
        <>
          <p>
            The registry's certificates are issued by its own certificate authority. Each client must trust that CA once. Before trusting a file fetched over a
            connection you do not trust yet, compare its fingerprint with what <code>minato ca show</code> prints on the registry's host:
          </p>
          <CopyLine text={t.sha256_fingerprint} label="Copy the CA fingerprint" />
          <h2>Everything at once (Linux: docker, containerd, podman, skopeo, the system store)</h2>
          <CopyLine text={`curl -fsSk ${url(t.install_script_url)} | sudo sh`} label="Copy the one-line installer" />
          <h2>Docker</h2>
          <CopyLine
            text={`sudo mkdir -p /etc/docker/certs.d/${host} && curl -fsSk ${url(t.ca_certificate_url)} | sudo tee /etc/docker/certs.d/${host}/ca.crt >/dev/null`}
            label="Copy the docker commands"
          />
          <h2>Podman and skopeo</h2>
          <CopyLine
            text={`sudo mkdir -p /etc/containers/certs.d/${host} && curl -fsSk ${url(t.ca_certificate_url)} | sudo tee /etc/containers/certs.d/${host}/ca.crt >/dev/null`}
            label="Copy the podman commands"
          />
          <h2>Debian and Ubuntu (system store)</h2>
          <CopyLine
            text={`curl -fsSk ${url(t.ca_certificate_url)} | sudo tee /usr/local/share/ca-certificates/minato-${host.replace(/[^a-zA-Z0-9.-]/g, '_')}.crt >/dev/null && sudo update-ca-certificates`}
            label="Copy the Debian commands"
          />
          <h2>RHEL, Fedora, Rocky (system store)</h2>
          <CopyLine
            text={`curl -fsSk ${url(t.ca_certificate_url)} | sudo tee /etc/pki/ca-trust/source/anchors/minato-${host.replace(/[^a-zA-Z0-9.-]/g, '_')}.crt >/dev/null && sudo update-ca-trust`}
            label="Copy the RHEL commands"
          />
          <h2>Browsers</h2>
          <p>Download the CA certificate and import it as an authority (Firefox: Settings, Certificates, Authorities; Chrome and Edge use the system store).</p>
          <h2>Files, one per client</h2>
          <ul className="downloads">
            <li>
              <a href={t.ca_certificate_url} download>
                ca.crt
              </a>{' '}
              the CA certificate (PEM)
            </li>
            {t.formats.map((f) => (
              <li key={f.format}>
                <a href={f.url} download>
                  {f.format}
                </a>{' '}
                {f.description}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
