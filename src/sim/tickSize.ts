import type { MarketCode } from '../gateway/symbol.js';

/**
 * Minimum price steps. HK follows the HKEX spread table (Part A): a band covers prices above its
 * lower bound up to and including its upper bound, so a price exactly on a boundary (e.g. 500)
 * moves up by the next band's step (500.5) and down by its own (499.8).
 */
const HK_UPPER = [0.25, 0.5, 10, 20, 100, 200, 500, 1000, 2000, 5000, Infinity];
const HK_TICK = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** The step of the band holding `price` when prices strictly above it count as the next band. */
function tickAt(market: MarketCode, price: number, upward: boolean): number {
  if (market === 'HK') {
    // Index loops over plain arrays: this runs for every simulated price, and must not allocate.
    for (let i = 0; i < HK_UPPER.length; i++) {
      const upper = HK_UPPER[i]!;
      if (upward ? price < upper - 1e-9 : price <= upper + 1e-9) return HK_TICK[i]!;
    }
    return HK_TICK[HK_TICK.length - 1]!;
  }
  if (market === 'US') return (upward ? price < 1 - 1e-9 : price <= 1 + 1e-9) ? 0.0001 : 0.01;
  return 0.01;
}

/** Rounds away binary noise: every tick in use is a multiple of 0.0001. */
export function cleanPrice(price: number): number {
  return Math.round(price * 10000) / 10000;
}

/** The step to the next higher valid price: what quotes report as priceSpread. */
export function tickUp(market: MarketCode, price: number): number {
  return tickAt(market, price, true);
}

export function tickDown(market: MarketCode, price: number): number {
  return tickAt(market, price, false);
}

export type SnapMode = 'nearest' | 'up' | 'down';

/** The valid price closest to `raw` (or the closest one at or above / at or below it). */
export function snapPrice(market: MarketCode, raw: number, mode: SnapMode = 'nearest'): number {
  const tick = tickDown(market, raw);
  const steps = raw / tick;
  const nearest = Math.round(steps);
  // Tolerate float noise so that 123.4 / 0.2 = 616.9999999 still counts as on the grid.
  const onGrid = Math.abs(steps - nearest) < 1e-6;
  const whole = onGrid ? nearest : mode === 'up' ? Math.ceil(steps) : mode === 'down' ? Math.floor(steps) : nearest;
  return Math.max(tick, cleanPrice(whole * tick));
}

export function isOnTick(market: MarketCode, price: number): boolean {
  return price > 0 && Math.abs(snapPrice(market, price) - price) < 1e-9;
}

/** Moves a valid price by `steps` ticks (negative = down), crossing band boundaries correctly. */
export function stepPrice(market: MarketCode, price: number, steps: number): number {
  let current = price;
  for (let i = 0; i < Math.abs(steps); i++) {
    const next = steps > 0 ? current + tickUp(market, current) : current - tickDown(market, current);
    if (next <= 0) break;
    current = cleanPrice(next);
  }
  return current;
}
