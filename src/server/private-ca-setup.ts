// tls.mode "ca": the server certificate from minato's own CA, for the configured names plus this
// machine's hostname and the host of externalUrl.
import os from 'node:os';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { PrivateCaCertificates } from '../tls/private-ca-certificates.js';
import type { Certificates } from './certificates.js';

/** Every name the server certificate must carry (before normalization). */
export function serverCertificateNames(config: Config): string[] {
  const c = config.tls.ca;
  const names = [...c.names];
  if (c.includeHostname) {
    const h = os.hostname().toLowerCase();
    if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h)) names.push(h);
  }
  if (config.externalUrl) {
    const h = new URL(config.externalUrl).hostname.replace(/^\[|\]$/g, '');
    if (h && (isIP(h) || !names.includes(h))) names.push(h);
  }
  return names;
}

export async function createPrivateCaCertificates(config: Config, dataDir: string, log: Logger): Promise<Certificates> {
  const c = config.tls.ca;
  const provider = new PrivateCaCertificates(
    {
      dataDir,
      names: serverCertificateNames(config),
      validityMs: Math.round(c.validityDays * 86_400_000),
      caValidityYears: c.caValidityYears,
      permittedNames: c.permittedNames,
    },
    log,
  );
  await provider.start();
  return { provider, privateCa: provider, stop: async () => provider.stop() };
}
