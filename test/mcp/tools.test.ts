import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ACTION_SPECS, ACTIONS } from '../../src/authz/actions.js';
import { serverInstructions } from '../../src/mcp/instructions.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { assertValidListings, READ_TOOL_ANNOTATIONS, TRADE_TOOL_ANNOTATIONS } from '../../src/mcp/tool.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import type { AnyFutuTool } from '../../src/mcp/tools/kit.js';

const EXPECTED: ReadonlyArray<readonly [string, string]> = [
  ['futu_get_limits', 'own-limits'],
  ['futu_ping', 'qot:read'],
  ['futu_get_quote', 'qot:read'],
  ['futu_get_snapshot', 'qot:read'],
  ['futu_get_kline', 'qot:read'],
  ['futu_get_orderbook', 'qot:read'],
  ['futu_get_ticker', 'qot:read'],
  ['futu_get_rt', 'qot:read'],
  ['futu_get_static', 'qot:read'],
  ['futu_get_broker', 'qot:read'],
  ['futu_list_plates', 'qot:read'],
  ['futu_plate_stocks', 'qot:read'],
  ['futu_search', 'qot:read'],
  ['futu_get_market_state', 'qot:read'],
  ['futu_get_financials', 'qot:read'],
  ['futu_get_valuation', 'qot:read'],
  ['futu_get_company_profile', 'qot:read'],
  ['futu_get_analyst_consensus', 'qot:read'],
  ['futu_get_dividends', 'qot:read'],
  ['futu_search_news', 'qot:read'],
  ['futu_get_capital_flow', 'qot:read'],
  ['futu_get_capital_distribution', 'qot:read'],
  ['futu_get_option_expirations', 'qot:read'],
  ['futu_get_option_chain', 'qot:read'],
  ['futu_stock_filter', 'qot:read'],
  ['futu_list_watchlists', 'qot:read'],
  ['futu_list_accounts', 'acc:read'],
  ['futu_get_funds', 'acc:read'],
  ['futu_get_positions', 'acc:read'],
  ['futu_get_orders', 'acc:read'],
  ['futu_get_deals', 'acc:read'],
  ['futu_get_history_orders', 'acc:read'],
  ['futu_get_history_deals', 'acc:read'],
  ['futu_get_max_trade_qty', 'acc:read'],
  ['futu_get_order_fee', 'acc:read'],
  ['futu_place_order', 'trade'],
  ['futu_modify_order', 'trade'],
  ['futu_cancel_order', 'trade'],
  ['futu_unlock_trade', 'trade:unlock'],
];

function tool(name: string): AnyFutuTool {
  const found = TOOLS.find((t) => t.name === name);
  assert.ok(found, name);
  return found;
}

/** The issues of a refused input as "path: message", the way the MCP layer reports them. */
function refusal(name: string, args: unknown): string[] {
  const parsed = tool(name).input.safeParse(args);
  assert.equal(parsed.success, false, `${name} accepted ${JSON.stringify(args)}`);
  return parsed.error!.issues.map((i: z.core.$ZodIssue) => `${i.path.join('.')}: ${i.message}`);
}

function assertRefused(name: string, args: unknown, field: string, message?: RegExp): void {
  const issues = refusal(name, args);
  const named = issues.filter((i) => i.startsWith(`${field}: `) || i.startsWith(`${field}.`) || (i.startsWith(': ') && i.includes(`"${field}"`)));
  assert.ok(named.length > 0, `${name}: no issue names ${field}: ${issues.join('; ')}`);
  if (message) assert.ok(named.some((i) => message.test(i)), `${name}: ${issues.join('; ')}`);
}

describe('tool registry', () => {
  it('declares exactly the 39 tools, in order, with their scopes', () => {
    assert.deepEqual(TOOLS.map((t) => [t.name, t.scope]), EXPECTED);
  });

  it('matches the authorization registry: same names, same order, same scope groups', () => {
    assert.deepEqual(TOOLS.map((t) => t.name), ACTIONS);
    for (const t of TOOLS) assert.equal(t.scope, ACTION_SPECS[t.name as keyof typeof ACTION_SPECS].group, t.name);
  });

  it('passes the startup checks and converts to MCP tool definitions', () => {
    assert.doesNotThrow(() => assertValidListings(TOOLS));
    assert.doesNotThrow(() => createMcpServer({ name: 'futu-mcp', version: '0', tools: TOOLS, handleCall: async () => ({ structured: {} }) }));
    for (const t of TOOLS) {
      const schema = z.toJSONSchema(t.input, { target: 'draft-2020-12', io: 'input' }) as { additionalProperties?: unknown };
      assert.equal(schema.additionalProperties, false, `${t.name} input must refuse unknown fields`);
      assert.doesNotThrow(() => z.toJSONSchema(t.output, { target: 'draft-2020-12', io: 'output' }), t.name);
    }
  });

  it('hints reads as read-only, trades as destructive, and unlock as destructive but idempotent', () => {
    for (const t of TOOLS) {
      if (t.scope === 'qot:read' || t.scope === 'acc:read') assert.deepEqual(t.annotations, READ_TOOL_ANNOTATIONS, t.name);
      else if (t.scope === 'trade') assert.deepEqual(t.annotations, TRADE_TOOL_ANNOTATIONS, t.name);
    }
    assert.deepEqual(tool('futu_unlock_trade').annotations, { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true });
  });

  it('teaches the model the rules that matter for each kind of tool', () => {
    for (const t of TOOLS) {
      assert.ok(t.title.length > 0 && t.description.length > 0, t.name);
      assert.ok(t.description.length <= 800, `${t.name}: description is ${t.description.length} characters`);
    }
    for (const name of ['futu_place_order', 'futu_modify_order', 'futu_cancel_order']) {
      assert.match(tool(name).description, /Default env: simulate \(paper\); real needs trade:real/, name);
    }
    for (const name of ['futu_get_funds', 'futu_get_positions', 'futu_get_orders', 'futu_get_deals', 'futu_get_history_orders', 'futu_get_history_deals']) {
      assert.equal(tool(name).input.safeParse({}).success, true, `${name} needs no argument`);
    }
    assert.match(tool('futu_get_history_deals').description, /last 30 days by default/);
    assert.match(tool('futu_get_broker').description, /HK only/);
    assert.match(tool('futu_unlock_trade').description, /never pass it/);
    assert.match(JSON.stringify(z.toJSONSchema(tool('futu_get_quote').input, { io: 'input' })), /HK\.00700/, 'the symbol format is shown where symbols are asked for');
  });
});

describe('tool descriptions', () => {
  it('never repeat a sentence another tool carries word for word (shared rules live in the server instructions)', () => {
    const owners = new Map<string, string>();
    for (const t of TOOLS) {
      // A "paragraph" here is any sentence of 60+ characters: short shared pointers are allowed.
      for (const sentence of t.description.split(/(?<=[.:;])\s+/).filter((x) => x.length >= 60)) {
        const owner = owners.get(sentence);
        assert.ok(owner === undefined || owner === t.name, `${t.name} repeats a sentence of ${owner}: ${sentence}`);
        owners.set(sentence, t.name);
      }
    }
  });

  it('the server instructions carry the cross-tool rules, and name futu_get_limits only when it exists', () => {
    const text = serverInstructions(TOOLS.map((t) => t.name));
    for (const rule of [/MARKET\.CODE/, /"simulate" \(paper\) is the default/, /every account this key may use/, /futu_get_snapshot/, /per-order value, daily value, orders per minute/]) {
      assert.match(text, rule);
    }
    assert.equal(text.includes('futu_get_limits'), TOOLS.some((t) => t.name === 'futu_get_limits'));
    assert.match(serverInstructions([...TOOLS.map((t) => t.name), 'futu_get_limits']), /futu_get_limits/);
    assert.ok(text.length < 1500, `instructions are ${text.length} chars`);
  });
});

describe('tool inputs', () => {
  it('refuse unknown fields on every tool, naming them', () => {
    for (const t of TOOLS) {
      const issues = refusal(t.name, { bogus_field: 1 });
      assert.ok(issues.some((i) => i.includes('"bogus_field"')), `${t.name}: ${issues.join('; ')}`);
    }
  });

  it('refuse wrong types and formats, naming the field', () => {
    assertRefused('futu_get_quote', { symbols: 'HK.00700' }, 'symbols');
    assertRefused('futu_get_quote', { symbol: 'JP.7203' }, 'symbol', /MARKET\.CODE, e\.g\. HK\.00700, US\.AAPL/);
    assertRefused('futu_get_quote', { symbol: '00700' }, 'symbol', /MARKET\.CODE/);
    assertRefused('futu_get_quote', { symbols: Array.from({ length: 51 }, () => 'HK.00700') }, 'symbols');
    assertRefused('futu_get_kline', { symbol: 'HK.00700', kl_type: 'fortnight' }, 'kl_type', /kl_type must be one of 1m, 5m, 15m, 30m, 60m, day, week, month/);
    assertRefused('futu_get_kline', { symbol: 'HK.00700', kl_type: 5 }, 'kl_type', /kl_type must be one of/);
    assertRefused('futu_get_kline', { symbol: 'HK.00700', num: 1001 }, 'num');
    assertRefused('futu_get_kline', { symbol: 'HK.00700', begin: '2026/01/01' }, 'begin');
    assertRefused('futu_get_orderbook', { symbol: 'HK.00700', num: 11 }, 'num');
    assertRefused('futu_get_ticker', { symbol: 'HK.00700', num: 1.5 }, 'num');
    assertRefused('futu_list_plates', { market: 'JP' }, 'market', /market must be one of HK, US, SH, SZ/);
    assertRefused('futu_list_plates', { market: 'HK', plate_type: 'sector' }, 'plate_type');
    assertRefused('futu_get_funds', { acc_id: 281474976710656 }, 'acc_id');
    assertRefused('futu_get_funds', { acc_id: '12', env: 'paper' }, 'env', /env must be one of simulate, real/);
    assertRefused('futu_get_orders', { acc_id: '12', status: ['OPEN'] }, 'status', /status must be one of .*SUBMITTED/);
    assertRefused('futu_get_history_orders', { begin: '2026/10/01' }, 'begin', /YYYY-MM-DD/);
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: '100', price: 350 }, 'qty');
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'HOLD', qty: 100, price: 350 }, 'side');
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: -100, price: 350 }, 'qty');
    assertRefused('futu_modify_order', { order_id: 12345, price: 350 }, 'order_id');
    assertRefused('futu_cancel_order', { order_id: '0x10' }, 'order_id');
    assertRefused('futu_unlock_trade', { unlock: 'yes' }, 'unlock');
  });

  it('take symbols or a single symbol, never both or neither', () => {
    for (const name of ['futu_get_quote', 'futu_get_snapshot', 'futu_get_static']) {
      assertRefused(name, { symbols: ['HK.00700'], symbol: 'US.AAPL' }, 'symbols', /not both or neither/);
      assertRefused(name, {}, 'symbols', /either symbols/);
      assert.deepEqual(tool(name).input.parse({ symbol: 'US.AAPL' }), { symbol: 'US.AAPL' });
      assert.deepEqual(tool(name).input.parse({ symbols: ['HK.00700', 'US.AAPL'] }), { symbols: ['HK.00700', 'US.AAPL'] });
    }
  });

  it('apply the documented defaults', () => {
    assert.deepEqual(tool('futu_get_kline').input.parse({ symbol: 'HK.00700' }), { symbol: 'HK.00700', kl_type: 'day', rehab: 'forward' });
    assert.deepEqual(tool('futu_get_orderbook').input.parse({ symbol: 'HK.00700' }), { symbol: 'HK.00700', num: 10 });
    assert.deepEqual(tool('futu_get_ticker').input.parse({ symbol: 'HK.00700' }), { symbol: 'HK.00700', num: 50 });
    assert.deepEqual(tool('futu_list_plates').input.parse({ market: 'US' }), { market: 'US', plate_type: 'all' });
    assert.deepEqual(tool('futu_get_funds').input.parse({}), {});
    assert.deepEqual(tool('futu_get_rt').input.parse({ symbol: 'HK.00700' }), { symbol: 'HK.00700', num: 60 });
    assert.deepEqual(tool('futu_get_history_deals').input.parse({}), { limit: 200 });
    assert.deepEqual(tool('futu_list_accounts').input.parse({}), {});
    assert.deepEqual(tool('futu_place_order').input.parse({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350.2 }), {
      symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 350.2, env: 'simulate',
    });
    assert.deepEqual(tool('futu_unlock_trade').input.parse({}), { unlock: true });
  });

  it('normalize symbols before anything sees them, and accept common spellings of enums', () => {
    for (const spelling of ['HK.700', 'hk.00700', ' Hk.0700 ', 'HK.00700']) {
      assert.deepEqual(tool('futu_get_kline').input.parse({ symbol: spelling }).symbol, 'HK.00700', spelling);
      assert.deepEqual(tool('futu_place_order').input.parse({ symbol: spelling, side: 'BUY', qty: 100, price: 350 }).symbol, 'HK.00700', spelling);
    }
    assert.deepEqual(tool('futu_get_quote').input.parse({ symbols: ['us.aapl', 'sh.600519', 'HK.5'] }).symbols, ['US.AAPL', 'SH.600519', 'HK.00005']);
    assert.equal(tool('futu_plate_stocks').input.parse({ plate: 'hk.bk1910' }).plate, 'HK.BK1910');
    assert.equal(tool('futu_get_positions').input.parse({ symbol: 'hk.9988' }).symbol, 'HK.09988');
    assertRefused('futu_get_quote', { symbol: 'HK.123456' }, 'symbol', /MARKET\.CODE/);
    const kl = (kl_type: unknown) => tool('futu_get_kline').input.parse({ symbol: 'HK.00700', kl_type }).kl_type;
    assert.deepEqual(['1h', 'K_60M', '60min', 'Hourly', 9].map(kl), ['60m', '60m', '60m', '60m', '60m']);
    assert.deepEqual(['1d', 'daily', 'DAY', 'K_DAY', 2].map(kl), ['day', 'day', 'day', 'day', 'day']);
    assert.deepEqual(['weekly', '1w', 'monthly', 'K_MON', '5m', '1m'].map(kl), ['week', 'week', 'month', 'month', '5m', '1m']);
    assert.equal(tool('futu_list_plates').input.parse({ market: 'hk' }).market, 'HK');
    assert.deepEqual(tool('futu_get_orders').input.parse({ status: ['filled_all'] }).status, ['FILLED_ALL']);
  });

  it('refuse a LIMIT order without price and a MARKET order with one', () => {
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100 }, 'price', /a LIMIT order needs price/);
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, order_type: 'MARKET', price: 350 }, 'price', /a MARKET order takes no price/);
    assert.doesNotThrow(() => tool('futu_place_order').input.parse({ symbol: 'HK.00700', side: 'SELL', qty: 100, order_type: 'MARKET' }));
  });

  it('refuse a modification that changes nothing, a long remark, and a non-HK broker queue', () => {
    assertRefused('futu_modify_order', { order_id: '123' }, 'qty', /give qty, price or both/);
    assertRefused('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, remark: '腾'.repeat(22) }, 'remark', /64 UTF-8 bytes/);
    assertRefused('futu_get_broker', { symbol: 'US.AAPL' }, 'symbol', /HK securities only/);
    assertRefused('futu_get_kline', { symbol: 'HK.00700', end: '2026-01-01' }, 'end', /end needs begin/);
  });

  it('accept api_key on trade tools only, and never a password on unlock', () => {
    const key = 'fc_per_call_override';
    assert.equal(tool('futu_place_order').input.parse({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, api_key: key }).api_key, key);
    assert.equal(tool('futu_modify_order').input.parse({ order_id: '1', price: 350, api_key: key }).api_key, key);
    assert.equal(tool('futu_cancel_order').input.parse({ order_id: '1', api_key: key }).api_key, key);
    assertRefused('futu_get_quote', { symbol: 'HK.00700', api_key: key }, 'api_key');
    assertRefused('futu_unlock_trade', { unlock: true, password: '123456' }, 'password');
    assertRefused('futu_unlock_trade', { unlock: true, pwd_md5: 'e10adc3949ba59abbe56e057f20f883e' }, 'pwd_md5');
  });
});
