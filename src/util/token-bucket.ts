// A token bucket that paces background reads (the scrub's re-hashing) so that serving goes on:
// tokens (bytes) flow in at `ratePerSecond` up to a burst of one second's worth, and a taker waits
// until the bucket has covered what it took. The bucket starts empty and tokens only come from
// elapsed time, so whatever the burst, N units taken in all take at least N / rate seconds.
import { sleep } from './async.js';

export class TokenBucket {
  private tokens = 0;
  private last = Date.now();

  /** `ratePerSecond` <= 0 or Infinity: no limit (take never waits). */
  constructor(private readonly ratePerSecond: number) {}

  get limited(): boolean {
    return this.ratePerSecond > 0 && Number.isFinite(this.ratePerSecond);
  }

  /**
   * Takes `n` tokens; resolves once the bucket has them (a chunk larger than the burst is taken on
   * credit and paid back by waiting). Rejects with the signal's reason when it aborts.
   */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (!this.limited) return;
    const now = Date.now();
    this.tokens = Math.min(this.ratePerSecond, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    this.tokens -= n;
    if (this.tokens < 0) await sleep(Math.ceil((-this.tokens / this.ratePerSecond) * 1000), signal);
  }
}
