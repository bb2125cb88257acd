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

/** A bcrypt hash of cost BCRYPT_COST that no password is checked against on purpose. */
const NO_USER_HASH = '$2b$10$CGpsRpX0.fuvQi2eam9UcOG6ur5amWVvUtbniJSkqoVDsTkmF214S';

/**
 * Checks a password against a user's hash; without one (no such user) it spends the time of a
 * bcrypt check anyway and says no, so that how long a wrong login takes does not tell whether
 * the user exists.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (hash === undefined) {
    await bcrypt.compare(password, NO_USER_HASH);
    return false;
  }
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
