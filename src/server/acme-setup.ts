// tls.mode "acme": the provider with what it needs around it: challenge solvers, the port-80
// responder, DNS providers for dns-01, trust for a private ACME CA.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import acme from 'acme-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { resolveChallengeName, waitForTxt } from '../dns/propagation.js';
import { createDnsProvider } from '../dns/registry.js';
import { AcmeCertificates } from '../tls/acme/acme-certificates.js';
import { AcmeIssuer } from '../tls/acme/acme-issuer.js';
import { directoryUrl } from '../tls/acme/directories.js';
import { Dns01Solver, Http01Solver, TlsAlpn01Solver, type ChallengeSolver } from '../tls/acme/solvers.js';
import { CertStore } from '../tls/cert-store.js';
import type { Certificates } from './certificates.js';
import { startChallengeListener } from './challenge-listener.js';
import type { Shared } from './coordination-setup.js';
import { parseListen } from './listen.js';

export async function createAcme(config: Config, shared: Shared, log: Logger): Promise<Certificates> {
  const a = config.tls.acme;
  const url = directoryUrl(a.directory);
  if (a.caBundle) {
    // acme-client talks HTTP through one shared axios instance: trust the private ACME CA there.
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, readFileSync(a.caBundle, 'utf8')] });
  }
  acme.setLogger((msg: string) => log.debug({ acme: msg }, 'acme-client'));
  // acme-client retries network errors for up to a minute by itself; our renewal loop already
  // retries with its own backoff and reports each failure, so keep its retries short.
  const settings = (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  if (settings) Object.assign(settings, { retryMaxAttempts: 1, retryDefaultDelay: 1 });

  const solvers: ChallengeSolver[] = [];
  let http01: Http01Solver | undefined;
  let alpn: TlsAlpn01Solver | undefined;
  for (const type of a.challenges) {
    // The tokens go to the shared store: whichever replica the CA reaches answers.
    if (type === 'http-01') solvers.push((http01 = new Http01Solver(shared.coordination.kv)));
    else if (type === 'tls-alpn-01') solvers.push((alpn = new TlsAlpn01Solver()));
    else if (a.dns) {
      const provider = createDnsProvider(a.dns);
      const nameservers = a.dnsPropagation.nameservers.length ? a.dnsPropagation.nameservers : undefined;
      solvers.push(
        new Dns01Solver({
          provider,
          challengeName: (name, signal) => resolveChallengeName(name, { nameservers, signal }),
          waitForTxt: (name, value, signal) => waitForTxt(name, value, { nameservers, timeoutMs: a.dnsPropagation.timeoutSeconds * 1000, signal }),
          ttl: 60,
        }),
      );
    } else log.warn('dns-01 is listed in tls.acme.challenges but no DNS provider is configured (tls.acme.dns); skipping it');
  }
  let responder: http.Server | undefined;
  if (http01) responder = await startChallengeListener(a.httpListen, http01, parseListen(config.listen).port, log);

  const provider = new AcmeCertificates({
    names: a.names,
    directoryUrl: url,
    challenges: solvers.map((s) => s.type),
    keyType: a.keyType,
    store: new CertStore(shared.assets),
    locker: shared.coordination.locker,
    storeCheckMs: config.tls.reloadCheckSeconds * 1000,
    issuer: new AcmeIssuer({
      directoryUrl: url,
      accounts: shared.assets,
      email: a.email,
      termsAgreed: a.agreeToTerms,
      eab: a.eab,
      solvers,
      log,
    }),
    alpnSolver: alpn,
    renewBeforeMs: a.renewBeforeDays === undefined ? undefined : a.renewBeforeDays * 86_400_000,
    retryMinMs: a.retryMinSeconds * 1000,
    retryMaxMs: a.retryMaxSeconds * 1000,
    trustedRoots: a.trustedRoots ? [readFileSync(a.trustedRoots, 'utf8')] : undefined,
    log,
  });
  await provider.start();
  return {
    provider,
    async stop() {
      provider.stop();
      await new Promise<void>((resolve) => (responder ? responder.close(() => resolve()) : resolve()));
    },
  };
}
