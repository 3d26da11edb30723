/**
 * Counts events in a rolling time window. "At most n per W" means event n+1 must come more than
 * W after event 1 (OpenD's definition). Used by the simulator's OpenD rules, the gateway
 * protection in front of OpenD, and the per-key rate limit.
 */
export class SlidingWindow {
  private readonly times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly minGapMs = 0,
  ) {}

  private prune(now: number): void {
    while (this.times.length > 0 && now - this.times[0]! >= this.windowMs) this.times.shift();
  }

  count(now = Date.now()): number {
    this.prune(now);
    return this.times.length;
  }

  /** Milliseconds until one more event would be allowed; 0 when allowed now. */
  waitMs(now = Date.now()): number {
    this.prune(now);
    let wait = 0;
    if (this.times.length >= this.limit) wait = this.times[0]! + this.windowMs - now;
    const last = this.times[this.times.length - 1];
    if (last !== undefined && now - last < this.minGapMs) wait = Math.max(wait, last + this.minGapMs - now);
    return Math.max(0, wait);
  }

  /** The events still in the window, oldest first. */
  stamps(now = Date.now()): readonly number[] {
    this.prune(now);
    return this.times;
  }

  /** Records an event whatever the limits say (it happened). */
  record(now = Date.now()): void {
    this.times.push(now);
  }

  /** Records the event if allowed; returns the wait in ms otherwise (0 = recorded). */
  tryTake(now = Date.now()): number {
    const wait = this.waitMs(now);
    if (wait === 0) this.times.push(now);
    return wait;
  }
}
