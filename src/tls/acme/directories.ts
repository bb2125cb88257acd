// Well-known ACME directories by short name; anything else must be a URL.
import acme from 'acme-client';

const PRESETS: Record<string, string> = {
  letsencrypt: acme.directory.letsencrypt.production,
  'letsencrypt-staging': acme.directory.letsencrypt.staging,
  zerossl: acme.directory.zerossl.production,
  google: acme.directory.google.production,
  'google-staging': acme.directory.google.staging,
  buypass: acme.directory.buypass.production,
  'buypass-staging': acme.directory.buypass.staging,
};

export function directoryUrl(nameOrUrl: string): string {
  const preset = PRESETS[nameOrUrl];
  if (preset) return preset;
  if (/^https?:\/\//.test(nameOrUrl)) return nameOrUrl;
  throw new Error(`tls.acme.directory "${nameOrUrl}" is neither a known CA (${Object.keys(PRESETS).join(', ')}) nor a URL`);
}
