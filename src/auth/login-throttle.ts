// Slows password guessing: failed logins are counted per client address and per (user,
// address) pair in a time window, and an address or pair over its limit is refused (429 with
// Retry-After) until a full window has passed since the failure that reached the limit.
//
// The pair is what stops guessing one user's password; the address limit, higher, stops one
// address trying many users. Nothing is ever counted per user alone, so an attacker elsewhere
// cannot lock the real user out: only the addresses that fail are refused. IPv6 clients are
// counted by their /64, which one host can fill with addresses. A guess from many addresses is
// slowed only by bcrypt; see docs/operations.md.
//
// An attempt counts as a failure from the moment it is asked about (so parallel guesses are
// counted too) until `succeeded` says the password was right. Memory is bounded: at most
// `maxKeys` keys, the oldest forgotten first.
import net from 'node:net';

export interface LoginThrottleOptions {
  /** Failures one user may have from one address in a window; 0 turns the throttle off. */
  userFailures: number;
  /** Failures one address may have, all users together, in a window; 0: no address limit. */
  addressFailures: number;
  windowMs: number;
  maxKeys?: number;
  /** Called once when an address or pair is first refused in a window (for the log). */
  onThrottled?(event: ThrottledEvent): void;
}

export interface ThrottledEvent {
  /** What went over its limit: one user from one address, or one address for all users. */
  scope: 'user' | 'address';
  /** The address as counted (an IPv6 address as its /64). */
  address: string;
  user?: string;
  failures: number;
  retryAfterSeconds: number;
}

interface Entry {
  failures: number;
  /** End of the window, or of the block once the limit is reached (ms). */
  until: number;
  warned: boolean;
}

/** Longest user name kept in a key: a header can hold kilobytes of one. */
const MAX_USER_IN_KEY = 256;

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxKeys: number;

  constructor(private readonly opts: LoginThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /**
   * Asked before a password is checked. 0: go ahead, and the attempt counts as a failure until
   * `succeeded` is called; otherwise the whole seconds to wait, and nothing is counted.
   */
  attempt(clientAddress: string, user: string | undefined, now = Date.now()): number {
    if (this.opts.userFailures <= 0) return 0;
    const address = addressKey(clientAddress);
    // The address first: a refused address must not make keys for every user name it tries
    // (enough of them would push its own entry out).
    const byAddress = this.opts.addressFailures > 0 ? this.fresh(`a ${address}`, now) : undefined;
    if (byAddress && byAddress.failures >= this.opts.addressFailures) return this.refuse(`a ${address}`, byAddress, { scope: 'address', address }, now);
    const key = user === undefined ? undefined : pairKey(address, user);
    const byUser = key === undefined ? undefined : this.fresh(key, now);
    if (byUser && byUser.failures >= this.opts.userFailures) return this.refuse(key!, byUser, { scope: 'user', address, user: user!.slice(0, 64) }, now);
    if (byAddress) this.fail(byAddress, this.opts.addressFailures, now);
    if (byUser) this.fail(byUser, this.opts.userFailures, now);
    return 0;
  }

  /** The password was right: the attempt was no failure, and this user starts over at this address. */
  succeeded(clientAddress: string, user: string): void {
    if (this.opts.userFailures <= 0) return;
    const address = addressKey(clientAddress);
    this.entries.delete(pairKey(address, user));
    const byAddress = this.entries.get(`a ${address}`);
    if (byAddress && byAddress.failures > 0 && byAddress.failures < this.opts.addressFailures) byAddress.failures--;
  }

  /** Forgets every count (users or passwords changed). */
  clear(): void {
    this.entries.clear();
  }

  /** The seconds to wait; warns once per key and refusal, and keeps the key among the newest. */
  private refuse(key: string, entry: Entry, who: Pick<ThrottledEvent, 'scope' | 'address' | 'user'>, now: number): number {
    const retryAfterSeconds = Math.max(1, Math.ceil((entry.until - now) / 1000));
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (!entry.warned) {
      entry.warned = true;
      this.opts.onThrottled?.({ ...who, failures: entry.failures, retryAfterSeconds });
    }
    return retryAfterSeconds;
  }

  private fail(entry: Entry, limit: number, now: number): void {
    entry.failures++;
    if (entry.failures >= limit) entry.until = now + this.opts.windowMs;
  }

  /** The key's entry, started afresh when its window or block is over. */
  private fresh(key: string, now: number): Entry {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.until > now) return entry;
    this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const created: Entry = { failures: 0, until: now + this.opts.windowMs, warned: false };
    this.entries.set(key, created);
    return created;
  }
}

function pairKey(address: string, user: string): string {
  return `u ${address} ${user.slice(0, MAX_USER_IN_KEY)}`;
}

/** IPv4 as is; IPv6 as its /64 ("2001:db8:1:2::/64"), since one host may hold a whole /64. */
export function addressKey(address: string): string {
  if (!net.isIPv6(address)) return address;
  const plain = address.split('%')[0]!;
  const [head = '', tail] = plain.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
