// tls.mode "ca": the server certificate from minato's own CA, for the configured names and the
// host of externalUrl, plus localhost, the loopback addresses and this machine's hostname.
import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { PrivateCaCertificates } from '../tls/private-ca-certificates.js';
import type { Certificates } from './certificates.js';
import type { Shared } from './coordination-setup.js';

/** Loopback names, so that clients on this machine reach the registry by them. */
const LOOPBACK = ['localhost', '127.0.0.1', '::1'];

/**
 * The server certificate's names: the configured ones (tls.ca.names and the host of externalUrl),
 * which the CA must permit, and the default ones (loopback, this machine's hostname), which are
 * left out when the CA's name constraints exclude them.
 */
export function serverCertificateNames(config: Config): { names: string[]; optionalNames: string[] } {
  const c = config.tls.ca;
  const names = [...c.names];
  if (config.externalUrl) names.push(new URL(config.externalUrl).hostname.replace(/^\[|\]$/g, ''));
  const optionalNames = c.includeLoopback ? [...LOOPBACK] : [];
  if (c.includeHostname) {
    const h = os.hostname().toLowerCase();
    if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h)) optionalNames.push(h);
  }
  return { names: names.filter((n) => n !== ''), optionalNames };
}

export async function createPrivateCaCertificates(config: Config, shared: Shared, log: Logger): Promise<Certificates> {
  const c = config.tls.ca;
  const provider = new PrivateCaCertificates(
    {
      kv: shared.assets,
      locker: shared.coordination.locker,
      storeCheckMs: config.tls.reloadCheckSeconds * 1000,
      ...serverCertificateNames(config),
      validityMs: Math.round(c.validityDays * 86_400_000),
      caValidityYears: c.caValidityYears,
      permittedNames: c.permittedNames,
    },
    log,
  );
  await provider.start();
  return { provider, privateCa: provider, stop: async () => provider.stop() };
}
