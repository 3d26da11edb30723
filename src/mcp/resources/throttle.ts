/** The clock of the rate limit: injectable so tests never wait on the wall clock. */
export interface ThrottleClock {
  now(): number;
  /** Runs `fn` after `ms`; returns the cancel. */
  after(ms: number, fn: () => void): () => void;
}

export const WALL_CLOCK: ThrottleClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * At most one delivery per `intervalMs`: the first change goes out at once, changes within the
 * interval are held and go out together when it ends (so the last state is always announced).
 */
export class Throttle<T> {
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending = new Map<string, T>();
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: ThrottleClock,
    /** Gets the held changes, distinct by key. */
    private readonly deliver: (changes: readonly T[]) => void,
  ) {}

  /** A change; `key` merges repeats of the same change while held. */
  push(key: string, change: T): void {
    this.pending.set(key, change);
    if (this.cancelTimer) return;
    const wait = this.lastAt + this.intervalMs - this.clock.now();
    if (wait <= 0) this.flush();
    else this.cancelTimer = this.clock.after(wait, () => this.flush());
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.pending.clear();
  }

  private flush(): void {
    this.cancelTimer = undefined;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    if (changes.length === 0) return;
    this.lastAt = this.clock.now();
    this.deliver(changes);
  }
}
