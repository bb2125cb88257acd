// Remembers recently verified Basic credentials so a request costs one SHA-256, not a bcrypt.
// The key is the credential exactly as the client sends it (base64 of "user:password"), so a
// cached request needs no decoding either. Keys are SHA-256 digests of it behind a per-process
// random secret: passwords are never kept, and a copy of the map is no offline guessing oracle.
// (One-shot `hash()` costs ~0.4 us where an HMAC object costs ~2-4 us; length extension does not
// matter for a lookup key nobody sees.) Only successes are cached, and everything is dropped
// when users change.
import { hash, randomBytes } from 'node:crypto';

interface Entry {
  user: string;
  expires: number;
}

/** The Basic credential of a user and password: base64 of "user:password" (RFC 7617). */
export function basicCredential(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

export class CredentialCache {
  private readonly secret = randomBytes(32).toString('base64');
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private keyOf(credential: string): string {
    return hash('sha256', `${this.secret}\0${credential}`, 'base64');
  }

  /** The user of a Basic credential verified in the last `ttlMs`, or undefined. */
  userFor(credential: string): string | undefined {
    if (this.ttlMs <= 0) return undefined;
    const k = this.keyOf(credential);
    const entry = this.entries.get(k);
    if (entry === undefined) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return entry.user;
  }

  add(credential: string, user: string): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.keyOf(credential), { user, expires: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
