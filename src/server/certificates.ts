// Chooses and builds the certificate provider for tls.mode.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { CertificateProvider } from '../tls/certificate-provider.js';
import type { PrivateCaCertificates } from '../tls/private-ca-certificates.js';
import { FileCertificates } from '../tls/file-certificates.js';
import type { Shared } from './coordination-setup.js';

export interface Certificates {
  provider: CertificateProvider | undefined;
  /** Set in tls.mode "ca": the CA whose trust bundle the registry hands out. */
  privateCa?: PrivateCaCertificates;
  stop(): Promise<void>;
}

/** `shared`: where ACME and the private CA keep their certificates and keys, and their locks. */
export async function createCertificates(config: Config, dataDir: string, log: Logger, shared: Shared): Promise<Certificates> {
  const mode = config.tls.mode;
  if (mode === 'files') {
    const provider = new FileCertificates({ cert: config.tls.cert!, key: config.tls.key!, reloadCheckSeconds: config.tls.reloadCheckSeconds }, log.child({ mod: 'tls.files' }));
    await provider.start();
    return { provider, stop: async () => provider.stop() };
  }
  // ACME (acme-client, ~27 MiB resident) and the private CA (@peculiar/x509, ~19 MiB) are loaded
  // only when configured.
  if (mode === 'acme') return (await import('./acme-setup.js')).createAcme(config, shared, log.child({ mod: 'tls.acme' }));
  if (mode === 'ca') return (await import('./private-ca-setup.js')).createPrivateCaCertificates(config, shared, log.child({ mod: 'tls.ca' }));
  return { provider: undefined, stop: async () => undefined };
}

