/**
 * Writes docs/examples/sample-decisions.jsonl, the sample decision log docs/policy-ci.md replays
 * in CI: a short mixed session (reads, a market the key may not use, orders inside and above its
 * limits, a real-env order without the scope, a cancel, a large order of a key without a
 * per-order limit) decided by the shipped policies and
 * recorded by the server's own DecisionLog, at fixed times so the file is reproducible.
 * Regenerate after a schema change: npm run build && node dist/scripts/sample-decisions.js
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRequests, buildTradeRequest, type Caller } from '../src/authz/builder.js';
import { DecisionLog } from '../src/authz/decisionLog.js';
import { AuthzEngine } from '../src/authz/engine.js';
import { defaultPolicyPaths } from '../src/authz/policySet.js';
import { NO_LIMITS, type KeyRecord } from '../src/keys/types.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/examples/sample-decisions.jsonl');
const key = (id: string, scopes: KeyRecord['scopes'], limits: Partial<KeyRecord['limits']> = {}): KeyRecord => ({
  id,
  hash: '0'.repeat(64),
  scopes,
  allowed_machines: null,
  created_at: null,
  expires_at: null,
  note: null,
  limits: { ...NO_LIMITS, ...limits },
});
const analyst = key('claude-analyst', ['qot:read', 'acc:read']);
const desk = key('desk-bot', ['qot:read', 'acc:read', 'trade:simulate'], { allowed_markets: ['HK'] });
const bot = key('claude-bot', ['qot:read', 'acc:read', 'trade:simulate'], { allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_daily_value: 200_000, max_orders_per_minute: 3 });

const engine = AuthzEngine.load(defaultPolicyPaths());
rmSync(out, { force: true });
const decisions = DecisionLog.open(out);
let minute = 0;
const at = () => new Date(Date.UTC(2026, 10, 20, 2, minute++));
const as = (k: KeyRecord): Caller => ({ key: k, now: at(), machineBound: true, withinCallRate: true });

const read = (k: KeyRecord, action: Parameters<typeof buildRequests>[1], target: Parameters<typeof buildRequests>[2]) => {
  const caller = as(k);
  decisions.record(engine.authorize(buildRequests(caller, action, target)[0]!), caller.now);
};
const usage = new Map<string, { dailyValue: number; ordersBefore: number; cancelsBefore: number }>();
const trade = (k: KeyRecord, action: 'futu_place_order' | 'futu_cancel_order', env: 'simulate' | 'real', symbol: string, orderValue: number) => {
  const caller = as(k);
  const addedValue = action === 'futu_cancel_order' ? 0 : orderValue;
  const reducesRisk = action === 'futu_cancel_order';
  const used = usage.get(k.id) ?? { dailyValue: 0, ordersBefore: 0, cancelsBefore: 0 };
  const valuation = { orderValue, addedValue };
  const request = buildTradeRequest(caller, { action, env, account: '1001', symbol, side: 'BUY', valuation, usage: used, ownOrder: true, reducesRisk });
  const decision = engine.authorize(request);
  if (decision.allowed) {
    usage.set(k.id, {
      dailyValue: used.dailyValue + addedValue,
      ordersBefore: used.ordersBefore + (reducesRisk ? 0 : 1),
      cancelsBefore: used.cancelsBefore + (reducesRisk ? 1 : 0),
    });
  }
  decisions.record(decision, caller.now);
};

read(analyst, 'futu_get_quote', { symbols: ['HK.00700'] });
read(analyst, 'futu_get_kline', { symbols: ['US.AAPL'] });
read(analyst, 'futu_get_funds', { account: '1001', env: 'simulate' });
read(bot, 'futu_get_quote', { symbols: ['SH.600519'] });
read(bot, 'futu_list_accounts', {});
trade(bot, 'futu_place_order', 'simulate', 'HK.00700', 3_000_000);
trade(bot, 'futu_place_order', 'simulate', 'HK.00700', 6_000_000);
trade(bot, 'futu_place_order', 'real', 'US.AAPL', 1_000_000);
trade(bot, 'futu_place_order', 'simulate', 'US.AAPL', 4_500_000);
trade(bot, 'futu_cancel_order', 'simulate', 'HK.00700', 3_000_000);
trade(desk, 'futu_place_order', 'simulate', 'HK.00700', 12_000_000);
trade(desk, 'futu_place_order', 'simulate', 'US.AAPL', 1_000_000);
await decisions.close();
process.stdout.write(`wrote ${out}\n`);
