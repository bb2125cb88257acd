// Remembers recently verified user/password pairs so Basic auth costs one HMAC, not a bcrypt,
// per request. Keys are HMACs under a per-process random key: the passwords themselves are
// never kept. Only successes are cached, and everything is dropped when users change.
import { createHmac, randomBytes } from 'node:crypto';

export class CredentialCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private keyOf(user: string, password: string): string {
    return createHmac('sha256', this.key).update(user).update('\0').update(password).digest('base64');
  }

  has(user: string, password: string): boolean {
    if (this.ttlMs <= 0) return false;
    const k = this.keyOf(user, password);
    const expires = this.entries.get(k);
    if (expires === undefined) return false;
    if (expires < Date.now()) {
      this.entries.delete(k);
      return false;
    }
    return true;
  }

  add(user: string, password: string): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.keyOf(user, password), Date.now() + this.ttlMs);
  }

  clear(): void {
    this.entries.clear();
  }
}
