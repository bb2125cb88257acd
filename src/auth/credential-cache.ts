// Remembers recently verified Basic credentials so a request costs one SHA-256, not a bcrypt.
// The key is the credential exactly as the client sends it (base64 of "user:password"), so a
// cached request needs no decoding either. Keys are SHA-256 digests of it behind a per-process
// random secret: passwords are never kept, and a copy of the map is no offline guessing oracle.
// (One-shot `hash()` costs ~0.4 us where an HMAC object costs ~2-4 us; length extension does not
// matter for a lookup key nobody sees.) Only successes are cached, and everything is dropped
// when users change. A client sends the same header on every request of a kept-alive connection,
// so each connection also remembers its last hit and skips the hash when the header is the same
// (compared only with what that connection itself sent before: no timing oracle for others).
import { hash, randomBytes } from 'node:crypto';

interface Entry {
  user: string;
  expires: number;
}

/** The Basic credential of a user and password: base64 of "user:password" (RFC 7617). */
export function basicCredential(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

/** A connection's last verified credential (compared by value, on that connection only). */
interface ConnectionHit extends Entry {
  credential: string;
  generation: number;
}

export class CredentialCache {
  private readonly secret = randomBytes(32).toString('base64');
  private readonly entries = new Map<string, Entry>();
  private readonly lastHit = new WeakMap<object, ConnectionHit>();
  /** Bumped by clear(): a connection's hit from before no longer counts. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private keyOf(credential: string): string {
    return hash('sha256', `${this.secret}\0${credential}`, 'base64');
  }

  /**
   * The user of a Basic credential verified in the last `ttlMs`, or undefined. `connection` (the
   * request's socket) lets a repeated header on one connection skip the hash.
   */
  userFor(credential: string, connection?: object): string | undefined {
    if (this.ttlMs <= 0) return undefined;
    const now = Date.now();
    const hit = connection && this.lastHit.get(connection);
    if (hit !== undefined && hit.credential === credential && hit.generation === this.generation && hit.expires >= now) return hit.user;
    const k = this.keyOf(credential);
    const entry = this.entries.get(k);
    if (entry === undefined) return undefined;
    if (entry.expires < now) {
      this.entries.delete(k);
      return undefined;
    }
    if (connection) this.lastHit.set(connection, { credential, user: entry.user, expires: entry.expires, generation: this.generation });
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
    this.generation++;
  }
}
