import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthzError } from '../../src/authz/errors.js';
import { BUILTIN_FX_TABLE, FxConverter, loadFxTable } from '../../src/authz/fx.js';
import { formatMoney } from '../../src/authz/money.js';
import { MARKET_ORDER_MARGIN_BPS, valueTrade, type TradeTerms } from '../../src/authz/valuation.js';
import type { LimitCurrency } from '../../src/keys/types.js';
import { fixedPrices, tempDir } from './fixtures.js';

const HKD = { limitCurrency: 'HKD' as LimitCurrency, fx: new FxConverter() };

function place(symbol: string, qty: number, price: number, side: 'BUY' | 'SELL' = 'BUY'): TradeTerms {
  return { action: 'futu_place_order', symbol, side, orderType: 'LIMIT', qty, price };
}

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof AuthzError && err.code === code);
}

test('a LIMIT order is price x qty in minor units, exactly (no binary float error)', async () => {
  assert.deepEqual(await valueTrade(place('HK.00700', 100, 600), HKD), { orderValue: 6_000_000, addedValue: 6_000_000 });
  // 0.1 x 3 is 0.30000000000000004 in doubles; the exact value is 30 cents, not 31.
  assert.equal((await valueTrade(place('HK.00700', 3, 0.1), HKD)).orderValue, 30);
  // Sub-cent products round up: 1 x 0.001 HKD counts as 1 cent.
  assert.equal((await valueTrade(place('HK.00700', 1, 0.001), HKD)).orderValue, 1);
});

test('another currency converts with the FX margin, rounded up', async () => {
  // 10 x USD 100 = USD 1,000 x 7.85 HKD/USD x 1.02 = HKD 8,007.00
  assert.equal((await valueTrade(place('US.AAPL', 10, 100), HKD)).orderValue, 800_700);
  // USD limit: HKD 1,000 / 7.85 x 1.02 = 129.9363... → 129.94 (up)
  const usd = { limitCurrency: 'USD' as LimitCurrency, fx: new FxConverter() };
  assert.equal((await valueTrade(place('HK.00700', 10, 100), usd)).orderValue, 12_994);
});

test('values beyond a safe integer or non-positive inputs are INVALID_VALUE', async () => {
  await rejects(valueTrade(place('HK.00700', 1e15, 1e6), HKD), 'INVALID_VALUE');
  await rejects(valueTrade(place('HK.00700', 0, 10), HKD), 'INVALID_VALUE');
  await rejects(valueTrade(place('HK.00700', 10, -1), HKD), 'INVALID_VALUE');
  await rejects(valueTrade(place('HK.00700', Number.NaN, 1), HKD), 'INVALID_VALUE');
  await rejects(valueTrade({ action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 1 }, HKD), 'INVALID_VALUE');
  await rejects(valueTrade({ action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'STOP' as never, qty: 1, price: 1 }, HKD), 'INVALID_VALUE');
  await rejects(valueTrade(place('XX.00700', 1, 1), HKD), 'INVALID_VALUE');
});

test('MARKET orders: buys at the higher of ask/last, sells at the higher of bid/last, plus the margin', async () => {
  const prices = fixedPrices({ bid: 99, ask: 101, last: 100 });
  const market = (side: 'BUY' | 'SELL'): TradeTerms => ({ action: 'futu_place_order', symbol: 'HK.00700', side, orderType: 'MARKET', qty: 100 });
  const margin = 1 + MARKET_ORDER_MARGIN_BPS / 10_000;
  assert.equal((await valueTrade(market('BUY'), HKD, prices)).orderValue, Math.round(100 * 101 * margin * 100));
  assert.equal((await valueTrade(market('SELL'), HKD, prices)).orderValue, Math.round(100 * 100 * margin * 100));
  // Only a last price: still valued.
  assert.equal((await valueTrade(market('BUY'), HKD, fixedPrices({ last: 50 }))).orderValue, Math.round(100 * 50 * margin * 100));
});

test('MARKET orders without a usable price are PRICE_UNAVAILABLE', async () => {
  const market: TradeTerms = { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'MARKET', qty: 100 };
  await rejects(valueTrade(market, HKD), 'PRICE_UNAVAILABLE');
  await rejects(valueTrade(market, HKD, fixedPrices({ bid: 10 })), 'PRICE_UNAVAILABLE');
  await rejects(valueTrade(market, HKD, fixedPrices({ ask: 0, last: Number.NaN })), 'PRICE_UNAVAILABLE');
  const broken = { bestPrices: async () => Promise.reject(new Error('quote feed down')) };
  await rejects(valueTrade(market, HKD, broken), 'PRICE_UNAVAILABLE');
});

test('modify: valued in full for the per-order limit, only the increase is added to the day', async () => {
  const existing = { symbol: 'HK.00700', side: 'BUY' as const, qty: 100, price: 300 };
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing, qty: 200 }, HKD), { orderValue: 6_000_000, addedValue: 3_000_000 });
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing, price: 250 }, HKD), { orderValue: 2_500_000, addedValue: 0 });
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing, qty: 101, price: 299.99 }, HKD), { orderValue: 3_029_899, addedValue: 29_899 });
  // An existing MARKET order (price 0) counts as worth nothing: the modify is fully charged.
  const marketOrder = { ...existing, price: 0 };
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: marketOrder, price: 310 }, HKD), { orderValue: 3_100_000, addedValue: 3_100_000 });
  await rejects(valueTrade({ action: 'futu_modify_order', existing: marketOrder, qty: 50 }, HKD), 'PRICE_UNAVAILABLE');
  assert.deepEqual(await valueTrade({ action: 'futu_cancel_order', existing }, HKD), { orderValue: 0, addedValue: 0 });
});

test('modify of a partly filled order re-prices only the unfilled shares: a price cut frees no budget the filled ones spent', async () => {
  // BUY 10,000 @ 100 with 6,000 filled at 100, then 15,000 @ 66.6: the old working part is
  // 4,000 x 100 = 400,000 and the new one 9,000 x 66.6 = 599,400. Valuing all 15,000 at 66.6
  // (999,000 < 1,000,000) charged nothing while committing 1,199,400 in all.
  const partly = { symbol: 'HK.00700', side: 'BUY' as const, qty: 10_000, price: 100, filledQty: 6_000, avgFillPrice: 100 };
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: partly, qty: 15_000, price: 66.6 }, HKD), { orderValue: 119_940_000, addedValue: 19_940_000 });
  // Filled shares count at their fill price in the order's value, whatever the new limit.
  const filledCheaper = { ...partly, avgFillPrice: 90 };
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: filledCheaper, price: 120 }, HKD), { orderValue: 102_000_000, addedValue: 8_000_000 });
  // Cutting to the filled quantity leaves nothing working: nothing added.
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: partly, qty: 6_000 }, HKD), { orderValue: 60_000_000, addedValue: 0 });
  await rejects(valueTrade({ action: 'futu_modify_order', existing: { ...partly, filledQty: 10_001 }, price: 90 }, HKD), 'INVALID_VALUE');
});

test('a sell is valued at the higher of its limit and the market reference: a low limit cannot shrink it', async () => {
  const prices = fixedPrices({ bid: 99, ask: 101, last: 100 });
  const reference = 100 * (1 + MARKET_ORDER_MARGIN_BPS / 10_000); // bid/last 100 plus the margin
  // A sell limited far below the market fills at the bid at once: valued at the reference, not at 0.01.
  assert.equal((await valueTrade(place('HK.00700', 1000, 0.01, 'SELL'), HKD, prices)).orderValue, Math.round(1000 * reference * 100));
  const short: TradeTerms = { action: 'futu_place_order', symbol: 'HK.00700', side: 'SELL_SHORT', orderType: 'LIMIT', qty: 1000, price: 0.01 };
  assert.equal((await valueTrade(short, HKD, prices)).orderValue, Math.round(1000 * reference * 100));
  // A sell limited above the market can only fill at its limit or better: valued at the limit.
  assert.equal((await valueTrade(place('HK.00700', 10, 200, 'SELL'), HKD, prices)).orderValue, 200_000);
  // Buys keep their limit (it caps what they pay), and need no quote.
  assert.equal((await valueTrade(place('HK.00700', 1000, 0.01, 'BUY'), HKD)).orderValue, 1_000);
  // No quote, no sell: fail closed.
  await rejects(valueTrade(place('HK.00700', 10, 200, 'SELL'), HKD), 'PRICE_UNAVAILABLE');
  await rejects(valueTrade(place('HK.00700', 10, 200, 'SELL'), HKD, fixedPrices({ ask: 101 })), 'PRICE_UNAVAILABLE');
});

test('modify of a sell: lowering its limit below the market adds nothing and is not valued below the market', async () => {
  const prices = fixedPrices({ bid: 99, ask: 101, last: 100 });
  const reference = 100 * (1 + MARKET_ORDER_MARGIN_BPS / 10_000);
  const resting = { symbol: 'HK.00700', side: 'SELL' as const, qty: 100, price: 120 };
  // 120 → 0.01: the order is now worth the market (about 10,500), not 1 HKD; no increase over 12,000.
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: resting, price: 0.01 }, HKD, prices), {
    orderValue: Math.round(100 * reference * 100),
    addedValue: 0,
  });
  // A resting sell below the market is already worth the market: doubling it adds a market's worth.
  const cheap = { ...resting, price: 0.01 };
  assert.deepEqual(await valueTrade({ action: 'futu_modify_order', existing: cheap, qty: 200 }, HKD, prices), {
    orderValue: Math.round(200 * reference * 100),
    addedValue: Math.round(100 * reference * 100),
  });
  await rejects(valueTrade({ action: 'futu_modify_order', existing: resting, price: 0.01 }, HKD), 'PRICE_UNAVAILABLE');
});

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('property: FX conversion never understates and never overstates by a cent or more', async () => {
  const random = prng(20260504);
  for (let i = 0; i < 3000; i++) {
    const priceTicks = 1 + Math.floor(random() * 5_000_000); // price with 4 decimals: 0.0001 .. 500
    const qty = 1 + Math.floor(random() * 100_000);
    const rateMicros = 1 + Math.floor(random() * 20_000_000); // HKD per USD with 6 decimals
    const marginBps = Math.floor(random() * 500);
    const fx = new FxConverter({ ...BUILTIN_FX_TABLE, marginBps, hkdPer: { HKD: '1', USD: (rateMicros / 1e6).toFixed(6), CNH: '1' } });
    const price = Number((priceTicks / 1e4).toFixed(4));
    const { orderValue } = await valueTrade(place('US.AAPL', qty, price), { limitCurrency: 'HKD', fx });
    // Independent oracle: cents x 10^14 as integers.
    const exactScaled = BigInt(priceTicks) * BigInt(qty) * BigInt(rateMicros) * BigInt(10_000 + marginBps) * 100n; // / 10^4 / 10^6 / 10^4
    const denominator = 10n ** 14n;
    const got = BigInt(orderValue) * denominator;
    assert.ok(got >= exactScaled, `understated: ${qty} x ${price} at ${rateMicros}e-6 +${marginBps}bps → ${orderValue}`);
    assert.ok(got - exactScaled < denominator, `overstated by a cent or more: ${orderValue}`);
  }
});

test('money is formatted with the currency, thousands separators and cents', () => {
  assert.equal(formatMoney(6_000_000, 'HKD'), 'HKD 60,000.00');
  assert.equal(formatMoney(5, 'USD'), 'USD 0.05');
  assert.equal(formatMoney(123_456_789_01, 'CNH'), 'CNH 123,456,789.01');
});

test('an operator FX file replaces the built-in rates; a malformed one is refused', (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'fx.json');
  writeFileSync(good, JSON.stringify({ asOf: '2026-05-01', marginBps: 0, hkdPer: { HKD: '1', USD: '8', CNH: '1.1' } }));
  const fx = new FxConverter(loadFxTable(good));
  const rate = fx.rate('USD', 'HKD');
  assert.equal(rate.num, 8n * rate.den);
  const bad = join(dir, 'bad.json');
  for (const content of ['{', JSON.stringify({ asOf: 'x', marginBps: 0, hkdPer: { HKD: '1', USD: '8' } }), JSON.stringify({ asOf: 'x', marginBps: 0, hkdPer: { HKD: '1', USD: '0', CNH: '1' } })]) {
    writeFileSync(bad, content);
    assert.throws(() => loadFxTable(bad), (err: unknown) => err instanceof AuthzError && err.code === 'INVALID_VALUE');
  }
});
