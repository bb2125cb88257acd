// The ACME account: its key is made once per directory URL and kept (0600), so restarts reuse
// the same account instead of registering new ones.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface AccountFiles {
  keyPem: string;
  /** Account URL once registered (saves a round trip and works with EAB-only CAs). */
  url?: string;
  save(url: string): Promise<void>;
}

export async function loadAccount(dir: string, directoryUrl: string): Promise<AccountFiles> {
  const d = path.join(dir, createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16));
  await mkdir(d, { recursive: true, mode: 0o700 });
  const keyFile = path.join(d, 'account.key');
  const urlFile = path.join(d, 'account.json');
  let keyPem: string;
  try {
    keyPem = await readFile(keyFile, 'utf8');
  } catch {
    keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(keyFile, keyPem, { mode: 0o600 });
    await writeFile(path.join(d, 'directory.txt'), `${directoryUrl}\n`);
  }
  let url: string | undefined;
  try {
    url = (JSON.parse(await readFile(urlFile, 'utf8')) as { url?: string }).url;
  } catch {
    url = undefined;
  }
  return {
    keyPem,
    url,
    async save(newUrl: string) {
      await writeFile(urlFile, JSON.stringify({ url: newUrl, directory: directoryUrl }), { mode: 0o600 });
    },
  };
}
