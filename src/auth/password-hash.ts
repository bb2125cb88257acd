// Password hashes as htpasswd files hold them: bcrypt ($2y$/$2a$/$2b$, what we write), and,
// on read only, Apache's legacy $apr1$ (MD5) and {SHA} (unsalted SHA-1).
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { createRequire } from 'node:module';

// apache-md5 is CommonJS exporting a bare function; its typings claim an ES default export.
const apacheMd5 = createRequire(import.meta.url)('apache-md5') as (password: string, salt: string) => string;

export const BCRYPT_COST = 10;

export async function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_COST);
}

export type HashKind = 'bcrypt' | 'apr1' | 'sha1' | 'unsupported';

export function hashKind(hash: string): HashKind {
  if (/^\$2[aby]\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$')) return 'apr1';
  if (hash.startsWith('{SHA}')) return 'sha1';
  return 'unsupported';
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  switch (hashKind(hash)) {
    case 'bcrypt':
      return bcrypt.compare(password, hash);
    case 'apr1':
      return safeEqual(apacheMd5(password, hash), hash);
    case 'sha1':
      return safeEqual(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    default:
      return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
