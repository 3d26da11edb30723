import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NonTradeAction } from '../src/authz/builder.js';
import { Authorizer, type CallInput } from '../src/authz/authorizer.js';
import { buildTradeRequest, type UsageSnapshot } from '../src/authz/builder.js';
import { AuthzEngine } from '../src/authz/engine.js';
import { FxConverter } from '../src/authz/fx.js';
import { LimitsLedger } from '../src/authz/ledger.js';
import { defaultPolicyPaths } from '../src/authz/policySet.js';
import { valueTrade, type ReferencePriceSource, type TradeTerms } from '../src/authz/valuation.js';
import { NO_LIMITS, type KeyLimits, type KeyRecord, type TrdSide } from '../src/keys/types.js';
import { setLogSink } from '../src/shared/log.js';

const WARMUP = 2_000;
const DECISIONS = 20_000;
const LEDGER_OPS = 500;
/** Distinct read requests; with the warm-up set they stay under the cache size, so repeats all hit. */
const READ_SET = 5_000;
const READ_WARMUP = 2_000;
const READ_TOOLS: readonly NonTradeAction[] = ['futu_get_quote', 'futu_get_snapshot', 'futu_get_kline', 'futu_get_orderbook', 'futu_get_ticker'];

function key(id: string, scopes: KeyRecord['scopes'], limits: Partial<KeyLimits>): KeyRecord {
  return { id, hash: '0'.repeat(64), scopes, allowed_machines: null, created_at: null, expires_at: null, note: null, limits: { ...NO_LIMITS, ...limits } };
}

/** Keys with different limit shapes, so the mix exercises every forbid. */
const KEYS: readonly KeyRecord[] = [
  key('sim-bot', ['qot:read', 'trade:simulate'], { allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_orders_per_minute: 3, max_daily_value: 500_000 }),
  key('real-trader', ['trade:simulate', 'trade:real'], { allowed_symbols: ['HK.00700', 'US.AAPL', 'SH.600519'], allowed_trd_sides: ['BUY', 'SELL'] }),
  key('usd-desk', ['trade:real'], { limit_currency: 'USD', max_order_value: 20_000, max_daily_value: 100_000, allowed_acc_ids: ['1001', '1002'] }),
  key('night-bot', ['trade:simulate'], { hours_window: '22:00-04:00', max_orders_per_minute: 10 }),
  key('reader', ['qot:read', 'acc:read'], {}),
  key('unlimited', ['trade:simulate', 'trade:real'], {}),
];
/** Weighted toward what keys allow, so roughly two thirds of the mix is allowed. */
const SYMBOLS = ['HK.00700', 'HK.00700', 'US.AAPL', 'US.AAPL', 'SH.600519', 'HK.09988', 'SZ.000001'];
const SIDES: readonly TrdSide[] = ['BUY', 'SELL', 'BUY', 'SELL', 'SELL_SHORT'];

interface Sample {
  key: KeyRecord;
  env: 'simulate' | 'real';
  account: string;
  terms: TradeTerms;
  usage: UsageSnapshot;
  now: Date;
}

/** A deterministic varied mix (mulberry32), generated before timing. */
function samples(count: number): Sample[] {
  let seed = 42;
  const next = (n: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  return Array.from({ length: count }, () => ({
    key: KEYS[next(KEYS.length)]!,
    env: next(4) === 0 ? 'real' : 'simulate',
    account: String(1001 + next(2)),
    terms: {
      action: 'futu_place_order',
      symbol: SYMBOLS[next(SYMBOLS.length)]!,
      side: SIDES[next(SIDES.length)]!,
      orderType: 'LIMIT',
      qty: 100 * (1 + next(5)),
      price: (1 + next(40_000)) / 100,
    },
    usage: { ordersBefore: next(4), cancelsBefore: 0, dailyValue: next(30_000_000) },
    ownOrder: true,
    reducesRisk: false,
    now: new Date(2026, 4, 4, next(24), next(60)),
  }));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summary(label: string, timesMs: number[]): string {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const mean = timesMs.reduce((a, b) => a + b, 0) / timesMs.length;
  return `${label}: p50 ${percentile(sorted, 0.5).toFixed(3)} ms, p90 ${percentile(sorted, 0.9).toFixed(3)} ms, p99 ${percentile(sorted, 0.99).toFixed(3)} ms, mean ${mean.toFixed(3)} ms over ${timesMs.length}`;
}

/** Builder + Cedar for place_order (valuation, FX, request, evaluation, message), no disk I/O. */
async function decisionLatency(engine: AuthzEngine): Promise<{ line: string; allowRate: number }> {
  const fx = new FxConverter();
  // Sells are valued against the quote; a fixed one stands in for OpenD's (no I/O in this figure).
  const prices: ReferencePriceSource = { bestPrices: async () => ({ bid: 99.5, ask: 100.5, last: 100 }) };
  const decide = async (s: Sample) => {
    const valuation = await valueTrade(s.terms, { limitCurrency: s.key.limits.limit_currency, fx }, prices);
    const terms = s.terms as Extract<TradeTerms, { action: 'futu_place_order' }>;
    const request = buildTradeRequest(
      { key: s.key, now: s.now, machineBound: true, withinCallRate: true },
      { action: 'futu_place_order', env: s.env, account: s.account, symbol: terms.symbol, side: terms.side, valuation, usage: s.usage, ownOrder: true, reducesRisk: false },
    );
    return engine.authorize(request);
  };
  for (const s of samples(WARMUP)) await decide(s);
  const times: number[] = [];
  let allowed = 0;
  for (const s of samples(DECISIONS)) {
    const start = process.hrtime.bigint();
    const decision = await decide(s);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (decision.allowed) allowed += 1;
  }
  return { line: summary('authz decision (build + evaluate, place_order mix)', times), allowRate: allowed / DECISIONS };
}

/** Read calls, one distinct (key, tool, symbol) per index: what a quote-heavy client sends. */
function readCalls(from: number, count: number): CallInput[] {
  const readers = KEYS.filter((k) => k.scopes.includes('qot:read'));
  return Array.from({ length: count }, (_, i) => ({
    key: readers[(from + i) % readers.length]!,
    now: new Date(),
    machineBound: true,
    withinCallRate: true,
    action: READ_TOOLS[(from + i) % READ_TOOLS.length]!,
    target: { symbols: [`HK.${String(from + i).padStart(5, '0')}`] },
  }));
}

/** authorizeCall (builder + engine) for reads: first sight of a request evaluates Cedar, repeats hit the cache. */
function readLatency(engine: AuthzEngine): string[] {
  const authz = new Authorizer({ engine, ledger: new LimitsLedger({ stateDir: os.tmpdir() }) });
  const timed = (inputs: readonly CallInput[]): number[] =>
    inputs.map((input) => {
      const start = process.hrtime.bigint();
      authz.authorizeCall(input);
      return Number(process.hrtime.bigint() - start) / 1e6;
    });
  timed(readCalls(0, READ_WARMUP));
  const set = readCalls(READ_WARMUP, READ_SET);
  const before = engine.decisionCacheStats;
  const misses = timed(set);
  const hits = Array.from({ length: DECISIONS / READ_SET }, () => timed(set)).flat();
  const after = engine.decisionCacheStats;
  return [
    summary('authorizeCall read, cache miss (build + evaluate)', misses),
    summary('authorizeCall read, cache hit (build + lookup)', hits),
    `decision cache: ${after.hits - before.hits} hits, ${after.misses - before.misses} misses, ${after.size} entries`,
  ];
}

/** The limits ledger alone: lock, read, write + fsync + rename, twice per order. */
async function ledgerLatency(stateDir: string): Promise<string[]> {
  const ledger = new LimitsLedger({ stateDir });
  const reserveTimes: number[] = [];
  const commitTimes: number[] = [];
  for (let i = 0; i < LEDGER_OPS; i++) {
    let start = process.hrtime.bigint();
    const { reservation } = await ledger.decideAndReserve('bench-key', 'HKD', new Date(), () => ({ outcome: null, reserveValue: 100 }));
    reserveTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    await ledger.commit(reservation!);
    commitTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return [summary('ledger reserve (locked read-modify-write, fsync)', reserveTimes), summary('ledger commit', commitTimes)];
}

/** The whole trade authorization a tool call pays: valuation + ledger + Cedar + reservation. */
async function endToEnd(engine: AuthzEngine, stateDir: string): Promise<string> {
  const authz = new Authorizer({ engine, ledger: new LimitsLedger({ stateDir }) });
  const times: number[] = [];
  for (const s of samples(LEDGER_OPS)) {
    const start = process.hrtime.bigint();
    await authz.authorizeTrade({ key: s.key, now: new Date(), machineBound: true, withinCallRate: true, env: s.env, account: s.account, terms: s.terms });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return summary('authorizeTrade end to end (incl. ledger)', times);
}

export async function benchAuthz(): Promise<void> {
  setLogSink(() => {});
  const loadStart = process.hrtime.bigint();
  const engine = AuthzEngine.load(defaultPolicyPaths());
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-authz-bench-'));
  try {
    const { line, allowRate } = await decisionLatency(engine);
    console.log(`policy load (compile, strict validation, preparse, policy tests): ${loadMs.toFixed(0)} ms, ${engine.policies.size} policies, version ${engine.version}`);
    console.log(`${line}, ${(allowRate * 100).toFixed(0)}% allowed`);
    for (const l of readLatency(engine)) console.log(l);
    for (const l of await ledgerLatency(path.join(dir, 'ledger'))) console.log(l);
    console.log(await endToEnd(engine, path.join(dir, 'e2e')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchAuthz();
