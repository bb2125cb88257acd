// When to renew, and how long to wait after a failure. Named, so they are easy to find and test.
import type { X509Certificate } from 'node:crypto';

/**
 * Renewal time for a certificate: inside the CA's ARI window when it gave one (RFC 9773),
 * else `renewBeforeMs` before expiry when configured, else when a third of the lifetime remains.
 * Jittered (by up to 1% of the lifetime, at most an hour) so fleets do not renew in lockstep.
 */
export function renewalTime(
  leaf: X509Certificate,
  opts: { renewBeforeMs?: number; ariWindow?: { start: number; end: number }; random?: () => number },
): number {
  const random = opts.random ?? Math.random;
  if (opts.ariWindow && opts.ariWindow.end > opts.ariWindow.start) {
    return opts.ariWindow.start + random() * (opts.ariWindow.end - opts.ariWindow.start);
  }
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  const lifetime = notAfter - notBefore;
  const base = opts.renewBeforeMs !== undefined ? notAfter - opts.renewBeforeMs : notAfter - lifetime / 3;
  const jitter = Math.min(lifetime * 0.01, 3600_000) * random();
  return base - jitter;
}

/** Retry delays after consecutive failures: quick at first, then capped (a day by default). */
const BACKOFF_MS = [60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000];

export function retryDelay(failures: number, opts: { minMs?: number; maxMs?: number } = {}): number {
  const scale = (opts.minMs ?? BACKOFF_MS[0]!) / BACKOFF_MS[0]!;
  const step = BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)]! * scale;
  return Math.min(step, opts.maxMs ?? 86_400_000);
}
