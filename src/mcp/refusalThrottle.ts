/**
 * Which unattributed HTTP refusals get an audit record of their own.
 *
 * A 401 for no token or an unknown one costs the sender nothing and needs no key. One fsynced,
 * chained record for each would let anyone who can reach the port fill the audit disk, and the
 * audit log failing closed would then deny every key's calls. So in each window the first
 * `recordsPerWindow` are recorded one by one and the rest are only counted, then recorded as one
 * summary when the window ends (or on flush). Refusals of a recognised key (expired, revoked,
 * unbound, another key's session) are throttled the same way, per key id (RefusalThrottles): a
 * leaked key that was revoked must not be able to fill the disk either, and one key's flood must
 * not hide another key's refusals. Metrics count every refusal either way. The call pipeline uses
 * the same throttles for tool calls refused for the call rate or for a key that does not authenticate.
 */
export interface SuppressedRefusals {
  /** Refusals counted but not recorded one by one, by refusal code. */
  readonly codes: Readonly<Record<string, number>>;
  readonly count: number;
  readonly windowStart: Date;
  readonly windowEnd: Date;
}

export interface RefusalThrottleOptions {
  readonly recordsPerWindow: number;
  readonly windowMs: number;
  /** Called once per window in which refusals were suppressed. */
  readonly onSuppressed: (summary: SuppressedRefusals) => void;
  readonly now?: () => number;
}

export const DEFAULT_REFUSAL_THROTTLE = { recordsPerWindow: 20, windowMs: 60_000 } as const;

export class RefusalThrottle {
  private windowStart = -Infinity;
  private recorded = 0;
  private suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RefusalThrottleOptions) {
    if (!(options.recordsPerWindow >= 0 && options.windowMs > 0)) throw new RangeError('refusal throttle: invalid window');
    this.now = options.now ?? Date.now;
  }

  /** True when this refusal gets its own record; false when it is only counted for the summary. */
  admit(code: string): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.options.windowMs) {
      this.flush();
      this.windowStart = now;
      this.recorded = 0;
    }
    if (this.recorded < this.options.recordsPerWindow) {
      this.recorded += 1;
      return true;
    }
    this.suppressed.set(code, (this.suppressed.get(code) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.options.windowMs - now)).unref();
    return false;
  }

  /** Reports the current window's suppressed refusals now, if any (at shutdown, so none go unrecorded). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed.size === 0) return;
    const codes = Object.fromEntries(this.suppressed);
    this.suppressed = new Map();
    const count = Object.values(codes).reduce((sum, n) => sum + n, 0);
    this.options.onSuppressed({ codes, count, windowStart: new Date(this.windowStart), windowEnd: new Date(Math.min(this.now(), this.windowStart + this.options.windowMs)) });
  }
}

/**
 * One RefusalThrottle for refusals without a recognised key and one per recognised key id. Key ids
 * come from keys.json (present or revoked), so the map is as bounded as that file.
 */
export class RefusalThrottles {
  private readonly unattributed: RefusalThrottle;
  private readonly byKey = new Map<string, RefusalThrottle>();

  constructor(private readonly options: Omit<RefusalThrottleOptions, 'onSuppressed'> & {
    readonly onSuppressed: (summary: SuppressedRefusals, keyId: string | undefined) => void;
  }) {
    this.unattributed = this.throttleFor(undefined);
  }

  /** True when this refusal gets its own record. */
  admit(keyId: string | undefined, code: string): boolean {
    if (keyId === undefined) return this.unattributed.admit(code);
    let throttle = this.byKey.get(keyId);
    if (throttle === undefined) {
      throttle = this.throttleFor(keyId);
      this.byKey.set(keyId, throttle);
    }
    return throttle.admit(code);
  }

  flush(): void {
    this.unattributed.flush();
    for (const throttle of this.byKey.values()) throttle.flush();
  }

  private throttleFor(keyId: string | undefined): RefusalThrottle {
    return new RefusalThrottle({ ...this.options, onSuppressed: (summary) => this.options.onSuppressed(summary, keyId) });
  }
}
