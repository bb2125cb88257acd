// The key grammar every KeyValueStore enforces, and the lock-name helpers the lockers share.
// Keys name files in the embedded store (files.ts), so a key that could climb out of its root
// ("..", an absolute path) or hide a temporary file (a leading dot) is refused everywhere, the
// same way, before any implementation sees it. Some keys carry a part a client chose (an HTTP-01
// token from a request path): checking them here is the one guard.

/** One path segment: printable ASCII without spaces, quotes or backslashes, not starting with a dot. */
const SEGMENT = /^[A-Za-z0-9_~:@+=,-][A-Za-z0-9._~:@+=,-]*$/;
const MAX_KEY_LENGTH = 1024;

export class InvalidKeyError extends Error {
  readonly code = 'INVALID_KEY';
}

/** Throws InvalidKeyError unless `key` is a '/'-separated path of valid segments. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !key.split('/').every((s) => SEGMENT.test(s))) {
    throw new InvalidKeyError(`invalid key ${JSON.stringify(String(key).slice(0, 80))}: '/'-separated segments of letters, digits and ._~:@+=,- (no empty, "." or ".." segments, none starting with a dot), at most ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

/** Checks a list prefix: empty, or a key, or a key followed by '/', or a key's first characters. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const complete = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // The last segment may be partial ("tls/cert" lists "tls/certs/..."), but it is still a segment's beginning.
  checkKey(complete);
  return prefix;
}

/**
 * The exclusive upper bound of the keys that start with `prefix`: every character a key may
 * hold sorts below DEL (0x7f), so `prefix + DEL` is above all of them and below the next prefix.
 */
export function prefixEnd(prefix: string): string {
  return `${prefix}\x7f`;
}

/** Lock names follow the key grammar too (they appear in logs and in the embedded lock table). */
export function checkLockName(name: string): string {
  return checkKey(name);
}
