import { setTimeout as sleep } from 'node:timers/promises';
import { SlidingWindow } from '../shared/slidingWindow.js';
import type { TradeAction } from './actions.js';
import { AuthzError } from './errors.js';

/**
 * OpenD's own frequency limits, enforced before a request is sent so the caller gets a clean
 * GATEWAY_RATE_LIMITED with retry_after_seconds instead of an OpenD failure. Limits are per
 * account for orders (modify and cancel share ModifyOrder's budget) and per OpenD user for
 * unlock. Counted in this process; several processes sharing one OpenD each stay under it only
 * together with OpenD's own check.
 */
export type GatewayOperation = 'place' | 'modify' | 'unlock';

export const OPEND_LIMITS: Readonly<Record<GatewayOperation, { limit: number; windowMs: number; minGapMs: number }>> = {
  place: { limit: 15, windowMs: 30_000, minGapMs: 20 },
  modify: { limit: 20, windowMs: 30_000, minGapMs: 40 },
  unlock: { limit: 10, windowMs: 30_000, minGapMs: 0 },
};

/**
 * Our clock and OpenD's differ (OpenD measures on arrival, after the socket write and its own
 * scheduling), so spacing sends by exactly OpenD's minimum lets the odd pair land too close
 * (observed: 1-3 of 18 back-to-back cancels refused). The guard keeps a small safety margin.
 */
const GAP_MARGIN_MS = 5;
const WINDOW_MARGIN_MS = 50;

/** What the guard enforces: OpenD's limits with the safety margin. */
export const GUARD_LIMITS: Readonly<Record<GatewayOperation, { limit: number; windowMs: number; minGapMs: number }>> = Object.fromEntries(
  Object.entries(OPEND_LIMITS).map(([operation, { limit, windowMs, minGapMs }]) => [
    operation,
    { limit, windowMs: windowMs + WINDOW_MARGIN_MS, minGapMs: minGapMs === 0 ? 0 : minGapMs + GAP_MARGIN_MS },
  ]),
) as Record<GatewayOperation, { limit: number; windowMs: number; minGapMs: number }>;

export function gatewayOperationFor(action: TradeAction | 'futu_unlock_trade'): GatewayOperation {
  if (action === 'futu_place_order') return 'place';
  if (action === 'futu_unlock_trade') return 'unlock';
  return 'modify';
}

export interface GatewayGuardOptions {
  /** Waits up to this long (the minimum gaps) instead of failing; longer waits fail. */
  readonly maxWaitMs?: number;
  /** Epoch ms; tests drive it by hand. */
  readonly clock?: () => number;
}

export class GatewayGuard {
  private readonly windows = new Map<string, SlidingWindow>();
  private readonly maxWaitMs: number;
  private readonly clock: () => number;

  constructor(options: GatewayGuardOptions = {}) {
    this.maxWaitMs = options.maxWaitMs ?? 100;
    this.clock = options.clock ?? Date.now;
  }

  /** Takes one slot for `operation` on `account` (ignored for unlock), waiting briefly if needed. */
  async acquire(operation: GatewayOperation, account = ''): Promise<void> {
    const window = this.window(operation, account);
    for (;;) {
      const wait = window.tryTake(this.clock());
      if (wait === 0) return;
      if (wait > this.maxWaitMs) {
        const limits = OPEND_LIMITS[operation];
        throw new AuthzError(
          'GATEWAY_RATE_LIMITED',
          `OpenD allows ${limits.limit} ${operation} requests per ${limits.windowMs / 1000}s; retry in ${Math.ceil(wait / 1000)}s`,
          { retry_after_seconds: Math.ceil(wait / 1000) },
        );
      }
      await sleep(wait);
    }
  }

  private window(operation: GatewayOperation, account: string): SlidingWindow {
    const id = operation === 'unlock' ? operation : `${operation}:${account}`;
    let window = this.windows.get(id);
    if (!window) {
      const { limit, windowMs, minGapMs } = GUARD_LIMITS[operation];
      window = new SlidingWindow(limit, windowMs, minGapMs);
      this.windows.set(id, window);
    }
    return window;
  }
}
