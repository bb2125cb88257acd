// Robot account secrets: generated as Harbor does (32 characters of [A-Za-z0-9] with at least one
// upper, one lower and one digit), or supplied (8 to 128 characters with the same three classes),
// and stored only as a salted PBKDF2-SHA256 hash. Checking one costs ~10 ms; the credential cache
// keeps a CI job's many requests to one check per cache period.
import { pbkdf2, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(pbkdf2);
const ITERATIONS = 20_000;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const hasClasses = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

export function generateSecret(): string {
  for (;;) {
    let s = '';
    for (let i = 0; i < 32; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    if (hasClasses(s)) return s;
  }
}

/** Why a supplied secret is refused, or undefined when it is acceptable. */
export function secretProblem(secret: string): string | undefined {
  if (secret.length < 8 || secret.length > 128 || !hasClasses(secret)) {
    return 'a robot secret must be 8 to 128 characters with at least one uppercase letter, one lowercase letter and one digit';
  }
  return undefined;
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, ITERATIONS, 32, 'sha256');
  return `pbkdf2-sha256$${ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, key] = stored.split('$');
  if (scheme !== 'pbkdf2-sha256' || !iterations || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(secret, Buffer.from(salt, 'base64'), Number(iterations), expected.length, 'sha256');
  return timingSafeEqual(actual, expected);
}
