// `minato doctor`: diagnoses, from the client's side, why docker/podman/containerd cannot use a
// registry (any registry, not only minato). The checks run in the order a client meets them:
// name, TCP, TLS and trust, the /v2/ API and its authentication, then a probe push. Each group
// lives in its own file; this one only chains them and skips what cannot run.
import { checkApi, skipApi, type Credentials } from './api-checks.js';
import { Report, type DoctorReport } from './check.js';
import { httpClient, type HttpTrust } from './http-client.js';
import { checkConnect, checkResolution } from './network-checks.js';
import { checkPush, skipPush } from './push-checks.js';
import type { Target } from './target.js';
import { checkTls, plainHttp, skipTls } from './tls-checks.js';
import { caFileStore, containersStore, dockerStore, systemStore, type TrustStore } from './trust-stores.js';

export interface DoctorOptions {
  target: Target;
  credentials?: Credentials;
  /** Trust stores, from loadTrustStores. */
  stores: TrustStore[];
  /** Scratch repository of the probe push. */
  repository: string;
  /** Run the probe push (when there are credentials). */
  push: boolean;
}

export const DEFAULT_DOCKER_CERTS_DIR = '/etc/docker/certs.d';
export const DEFAULT_CONTAINERS_CERTS_DIR = '/etc/containers/certs.d';
/** In `library`, the project Harbor and minato have from the start (a push elsewhere needs the project to exist). */
export const DEFAULT_REPOSITORY = 'library/minato-doctor-probe';

/** system, --ca-file (when given), docker, podman/skopeo. Throws TrustStoreError for a bad --ca-file. */
export async function loadTrustStores(target: Target, opts: { caFile?: string; dockerCertsDir?: string; containersCertsDir?: string }): Promise<TrustStore[]> {
  const system = await systemStore();
  const dockerDir = opts.dockerCertsDir ?? DEFAULT_DOCKER_CERTS_DIR;
  return [
    system,
    ...(opts.caFile ? [await caFileStore(opts.caFile)] : []),
    await dockerStore(system, dockerDir, target),
    await containersStore(system, opts.containersCertsDir ?? DEFAULT_CONTAINERS_CERTS_DIR, dockerDir, target),
  ];
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const { target } = opts;
  const report = new Report(target.origin);
  const rest = (reason: string) => {
    skipTls(report, opts.stores, reason);
    skipApi(report, reason);
    skipPush(report, reason);
  };

  const use = await checkResolution(report, target);
  if (!use) {
    report.skip('tcp.connect', 'TCP connect', 'the name does not resolve to a reachable address');
    rest('no address to connect to');
    return report.result();
  }
  if (!(await checkConnect(report, target, use))) {
    rest('no TCP connection');
    return report.result();
  }

  let trust: HttpTrust = { verify: true };
  let trusted = true;
  let untrustedReason: string | undefined;
  if (target.scheme === 'https') {
    const tls = await checkTls(report, target, use, opts.stores);
    if (!tls.handshake) {
      skipApi(report, 'no TLS session');
      skipPush(report, 'no TLS session');
      return report.result();
    }
    trusted = tls.verified;
    trust = tls.verified ? { verify: true, ca: tls.ca } : { verify: false };
    if (!tls.verified) {
      const failed = report.checks.find((c) => c.id.startsWith('tls.') && c.status === 'fail');
      untrustedReason = `the certificate is not accepted (see ${failed?.id ?? 'tls'})`;
    }
  } else {
    plainHttp(report, target, opts.stores);
  }

  const api = await checkApi(report, {
    target,
    http: httpClient(trust),
    trusted,
    ...(untrustedReason ? { untrustedReason } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    repository: opts.repository,
    push: opts.push,
  });
  if (!opts.push) skipPush(report, '--no-push');
  else if (!api.authorization) skipPush(report, api.noAuthorizationReason ?? 'no credentials');
  else await checkPush(report, { target, http: httpClient(trust), authorization: api.authorization, repository: opts.repository });
  return report.result();
}
