// The ACME account: its key is made once per directory URL and kept in the asset store
// (embedded: <data>/acme/<hash>/, 0600), so restarts, and every replica of a fleet, use the same
// account instead of registering new ones.
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { KeyValueStore } from '../../coordination/coordination.js';

export interface AccountFiles {
  keyPem: string;
  /** Account URL once registered (saves a round trip and works with EAB-only CAs). */
  url?: string;
  save(url: string): Promise<void>;
}

export async function loadAccount(kv: KeyValueStore, directoryUrl: string): Promise<AccountFiles> {
  const dir = `acme/${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
  const keyKey = `${dir}/account.key`;
  const urlKey = `${dir}/account.json`;
  let keyPem = (await kv.load(keyKey))?.toString('utf8');
  if (keyPem === undefined) {
    const fresh = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Another replica may make one at the same moment: the first stored is everybody's.
    if (await kv.storeIfAbsent(keyKey, Buffer.from(fresh))) {
      keyPem = fresh;
      await kv.store(`${dir}/directory.txt`, Buffer.from(`${directoryUrl}\n`));
    } else keyPem = (await kv.load(keyKey))!.toString('utf8');
  }
  let url: string | undefined;
  try {
    url = (JSON.parse((await kv.load(urlKey))?.toString('utf8') ?? '{}') as { url?: string }).url;
  } catch {
    url = undefined;
  }
  return {
    keyPem,
    url,
    async save(newUrl: string) {
      await kv.store(urlKey, Buffer.from(JSON.stringify({ url: newUrl, directory: directoryUrl })));
    },
  };
}
