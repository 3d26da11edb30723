/**
 * Counts events in a rolling time window. "At most n per W" means event n+1 must come more than
 * W after event 1 (OpenD's definition). Used by the simulator's OpenD rules, the gateway
 * protection in front of OpenD, and the per-key rate limit.
 */
export class SlidingWindow {
  private readonly stamps: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly minGapMs = 0,
  ) {}

  private prune(now: number): void {
    while (this.stamps.length > 0 && now - this.stamps[0]! >= this.windowMs) this.stamps.shift();
  }

  count(now = Date.now()): number {
    this.prune(now);
    return this.stamps.length;
  }

  /** Milliseconds until one more event would be allowed; 0 when allowed now. */
  waitMs(now = Date.now()): number {
    this.prune(now);
    let wait = 0;
    if (this.stamps.length >= this.limit) wait = this.stamps[0]! + this.windowMs - now;
    const last = this.stamps[this.stamps.length - 1];
    if (last !== undefined && now - last < this.minGapMs) wait = Math.max(wait, last + this.minGapMs - now);
    return Math.max(0, wait);
  }

  /** Records the event if allowed; returns the wait in ms otherwise (0 = recorded). */
  tryTake(now = Date.now()): number {
    const wait = this.waitMs(now);
    if (wait === 0) this.stamps.push(now);
    return wait;
  }
}
