/**
 * `futucli policy explain --gateway` answers what the server decides: the same calls go through
 * explain and then through a live futu-mcp (HTTP, same simulator, same keys file and state
 * directory), and the decision and code (and for a refusal the message) must be identical, for
 * every tool, every gate and every limit. Exit codes: 0 allow, 1 deny, 2 usage error. The last
 * checks hold the sweep to the registry and the shipped policies: a tool or a policy added
 * without a case here fails them.
 *
 * The one limit explain cannot see is the call rate (call-rate-limit): each server process counts
 * a key's calls in its own memory. There explain must say what it assumed, and the server's
 * refusal must be the policy's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFutucliAsync } from '../helpers/futucli.js';
import { updateKeysFile } from '../../src/keys/file.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { compilePolicySet, defaultPolicyPaths } from '../../src/authz/policySet.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { ALL_SCOPES, auditHead, E2eRun, onlyRecordAfter, READ, SIM, textOf, TRADE_PWD, type HttpServerProcess, type McpTestClient } from './helpers.js';

const QUOTE = { symbol: 'HK.00700' };
const order = (price: number, extra: Record<string, unknown> = {}) => ({ symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price, ...extra });
/** The README's `policy explain` example, for the README's claude-bot key. */
const README_ARGS = { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350 };
/** A machine fingerprint no machine has (64 hex digits): a key bound to it is usable nowhere here. */
const ELSEWHERE = `fp_${'e1'.repeat(32)}`;

/** A window 12 hours away from now (server local time): no test run can cross into it. */
function closedHoursWindow(): string {
  const hhmm = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const start = new Date().getHours() + 12;
  return `${hhmm(start)}-${hhmm(start + 1)}`;
}

interface Verdict {
  readonly allowed: boolean;
  readonly code: string;
  readonly message: string;
}

describe('policy explain against a live server', () => {
  const run = new E2eRun('explain-parity');
  let sim: SimulatorHandle;
  let server: HttpServerProcess;
  let keysFile: string;
  const clients = new Map<string, McpTestClient>();
  let lateKey: string;
  let elsewhereKey: string;
  /** What the sweep went through, for the closing checks against the registry and the policies. */
  const sweptTools = new Set<string>();
  const determined = new Set<string>();
  const refusalsBeforeCedar = new Set<string>();

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD });
    keysFile = run.path('keys.json');
    const keys = await run.genKeys(keysFile, [
      { id: 'reader', scopes: READ },
      { id: 'bot', scopes: SIM, flags: ['--allowed-markets', 'HK,US', '--max-order-value', '50000', '--max-orders-per-minute', '4'] },
      { id: 'rate', scopes: SIM, flags: ['--max-orders-per-minute', '2'] },
      { id: 'canceller', scopes: SIM, flags: ['--max-cancels-per-minute', '1'] },
      { id: 'manager', scopes: SIM, flags: ['--manage-any-order'] },
      { id: 'daily', scopes: SIM, flags: ['--max-daily-value', '60000'] },
      { id: 'narrow', scopes: SIM, flags: ['--allowed-symbols', 'HK.00700', '--allowed-trd-sides', 'BUY', '--hours-window', closedHoursWindow()] },
      { id: 'acct', scopes: SIM, flags: ['--allowed-acc-ids', '999'] },
      { id: 'other', scopes: SIM },
      { id: 'all', scopes: ALL_SCOPES, flags: ['--max-order-value', '50000', '--max-daily-value', '100000'] },
      { id: 'always', scopes: SIM },
      { id: 'above', scopes: SIM },
      { id: 'halted', scopes: SIM },
      { id: 'late', scopes: READ },
      { id: 'elsewhere', scopes: SIM, flags: ['--bind-machines', ELSEWHERE] },
      { id: 'claude-bot', scopes: SIM, flags: ['--allowed-markets', 'HK,US', '--max-order-value', '50000', '--max-orders-per-minute', '3'] },
      { id: 'chatty', scopes: READ, flags: ['--max-calls-per-minute', '2'] },
      { id: 'real', scopes: ALL_SCOPES },
      { id: 'halted-all', scopes: ALL_SCOPES },
    ]);
    // Confirmation rules (confirmation.cedar): every order, or orders above HKD 40,000; none for `real`.
    const rules: Record<string, KeyRecord['require_confirmation']> = { always: 'always', above: { above_value: 40_000 }, real: 'never' };
    updateKeysFile(keysFile, (records) => records.map((r) => (r.id in rules ? { ...r, require_confirmation: rules[r.id] } : r)));
    server = await run.startHttp({ name: 'parity', keysFile, gateway: `127.0.0.1:${sim.port}` });
    for (const [id, key] of Object.entries(keys)) if (id !== 'late' && id !== 'elsewhere') clients.set(id, await run.connectHttp('v2', server.url, key));
    lateKey = keys.late!;
    elsewhereKey = keys.elsewhere!;
    run.expireKey(keysFile, 'late');
    await server.hup();
  });
  after(async () => {
    await run.dispose();
    await sim.close();
  });

  interface Explained extends Verdict {
    readonly status: number | null;
    readonly needsHuman: boolean;
    readonly policies: string[];
    readonly assumptions: string[];
  }

  async function explain(keyId: string, tool: string, args: Record<string, unknown>, gateway = true): Promise<Explained> {
    const cli = await runFutucliAsync([
      '-o', 'json', '--keys-file', keysFile, 'policy', 'explain',
      '--key', keyId, '--tool', tool, '--args', JSON.stringify(args),
      '--state-dir', run.path('parity.state'), ...(gateway ? ['--gateway', `127.0.0.1:${sim.port}`] : []),
    ]);
    const parsed = JSON.parse(cli.stdout) as Verdict & { needs_human: boolean; policies: { id: string }[]; assumptions: string[] };
    return {
      allowed: parsed.allowed,
      code: parsed.code,
      message: parsed.message,
      status: cli.status,
      needsHuman: parsed.needs_human,
      policies: parsed.policies.map((p) => p.id),
      assumptions: parsed.assumptions,
    };
  }

  /**
   * The server's decision, from the call's audit record: an allowed call that then failed at
   * OpenD (a MARKET order outside trading hours) was still allowed.
   */
  async function served(keyId: string, tool: string, args: Record<string, unknown>, via = keyId): Promise<Verdict & { structured?: Record<string, unknown> }> {
    const seq = auditHead(server.auditLog);
    const result = await clients.get(via)!.callTool(tool, args);
    const record = onlyRecordAfter(server.auditLog, seq, { event: 'tool_call', tool });
    assert.equal(record.key_id, keyId);
    if (record.decision === 'allow') return { allowed: true, code: 'ALLOW', message: 'allowed', structured: result.structuredContent };
    assert.equal(textOf(result), `error (${String(record.code)}): ${String(record.reason)}`);
    return { allowed: false, code: String(record.code), message: String(record.reason) };
  }

  /** explain first (it records nothing), then the server: identical verdicts and the matching exit code. */
  async function same(keyId: string, tool: string, args: Record<string, unknown>, expected: { allowed: boolean; code?: string }, via?: { client: string; apiKey: string }) {
    const predicted = await explain(keyId, tool, args);
    const answer = await served(keyId, tool, via ? { ...args, api_key: via.apiKey } : args, via?.client);
    const what = `${keyId} ${tool} ${JSON.stringify(args)}`;
    // A human is asked (here out of band: the test client offers no elicitation) exactly when explain says so;
    // the server's refusal then adds the confirmation_id it stored to the rule's message.
    assert.equal(predicted.needsHuman, answer.code === 'CONFIRMATION_REQUIRED', `${what}: needs_human`);
    if (predicted.needsHuman) assert.ok(answer.message.startsWith(`${predicted.message}. Ask the human to approve confirmation_id `), `${what}: ${answer.message}`);
    const actual = predicted.needsHuman ? { ...answer, message: predicted.message } : answer;
    assert.deepEqual({ allowed: predicted.allowed, code: predicted.code, ...(predicted.allowed ? {} : { message: predicted.message }) }, {
      allowed: actual.allowed,
      code: actual.code,
      ...(actual.allowed ? {} : { message: actual.message }),
    }, what);
    assert.equal(actual.allowed, expected.allowed, `${what}: ${actual.message}`);
    if (expected.code) assert.equal(actual.code, expected.code, what);
    assert.equal(predicted.status, predicted.allowed ? 0 : 1, `${what}: exit code`);
    sweptTools.add(tool);
    for (const id of predicted.policies) determined.add(id);
    if (!predicted.allowed && predicted.policies.length === 0) refusalsBeforeCedar.add(predicted.message);
    return actual;
  }

  it('every read tool: allowed for a reader, refused for an expired key', async () => {
    const reads: Array<[string, Record<string, unknown>]> = [
      ['futu_ping', {}],
      ['futu_get_quote', QUOTE],
      ['futu_get_snapshot', { symbols: ['HK.00700', 'US.AAPL'] }],
      ['futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 5 }],
      ['futu_get_orderbook', QUOTE],
      ['futu_get_ticker', QUOTE],
      ['futu_get_rt', { symbol: 'US.AAPL' }],
      ['futu_get_static', { symbols: ['HK.00700'] }],
      ['futu_get_broker', QUOTE],
      ['futu_list_plates', { market: 'HK', plate_type: 'all' }],
      ['futu_plate_stocks', { plate: 'HK.BK1910' }],
      ['futu_list_accounts', {}],
      ['futu_get_funds', { market: 'HK' }],
      ['futu_get_positions', { market: 'HK' }],
      ['futu_get_orders', { market: 'HK' }],
      ['futu_get_deals', { market: 'HK' }],
      ['futu_get_history_orders', { market: 'HK' }],
      ['futu_get_history_deals', { env: 'simulate' }],
      ['futu_get_limits', {}],
      // Research (issue 18).
      ['futu_search', { query: 'Tencent' }],
      ['futu_get_market_state', {}],
      ['futu_get_financials', { symbol: 'US.AAPL' }],
      ['futu_get_valuation', { symbol: 'US.AAPL' }],
      ['futu_get_company_profile', { symbol: 'US.AAPL' }],
      ['futu_get_analyst_consensus', { symbol: 'US.AAPL' }],
      ['futu_get_dividends', { symbol: 'HK.00700' }],
      ['futu_search_news', { query: 'Apple' }],
      ['futu_get_capital_flow', { symbol: 'HK.00700' }],
      ['futu_get_capital_distribution', { symbol: 'HK.00700' }],
      ['futu_get_option_expirations', { symbol: 'US.AAPL' }],
      ['futu_get_option_chain', { symbol: 'US.AAPL', page_size: 5 }],
      ['futu_stock_filter', { market: 'US', page_size: 5 }],
      ['futu_list_watchlists', {}],
      ['futu_get_max_trade_qty', { symbol: 'HK.00700', price: 400 }],
      ['futu_get_order_fee', { page_size: 5 }],
    ];
    for (const [tool, args] of reads) await same('reader', tool, args, { allowed: true });
    // An expired or unbound bearer token cannot reach a tool over HTTP at all; a trade tool's api_key can.
    await same('late', 'futu_place_order', order(300), { allowed: false, code: 'KEY_EXPIRED' }, { client: 'reader', apiKey: lateKey });
    await same('elsewhere', 'futu_place_order', order(300), { allowed: false, code: 'KEY_NOT_BOUND' }, { client: 'reader', apiKey: elsewhereKey });
  });

  it("the README's example: the server picks the account, and explain with or without --gateway says what the server answers", async () => {
    const offline = await explain('claude-bot', 'futu_place_order', README_ARGS, false);
    const online = await same('claude-bot', 'futu_place_order', README_ARGS, { allowed: true });
    assert.deepEqual([offline.allowed, offline.code, offline.status], [online.allowed, online.code, 0]);
    assert.ok(offline.assumptions.some((a) => a.startsWith('account 1 (a placeholder: the key allows any account')), offline.assumptions.join('\n'));
  });

  it('the research limits: a symbol allowlist refuses listing tools and other symbols, a market list other markets, an account list other accounts', async () => {
    for (const [tool, args] of [['futu_search', { query: 'apple' }], ['futu_search_news', { query: 'apple' }], ['futu_stock_filter', { market: 'HK' }], ['futu_list_watchlists', {}]] as const) {
      const refused = await same('narrow', tool, args, { allowed: false, code: 'LIMIT_EXCEEDED' });
      assert.match(refused.message, /^limit check failed: a key limited to symbols cannot call tools that list other securities/);
    }
    await same('narrow', 'futu_get_financials', { symbol: 'US.AAPL' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('narrow', 'futu_get_financials', { symbol: 'HK.00700' }, { allowed: true });
    await same('bot', 'futu_stock_filter', { market: 'SH' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('bot', 'futu_get_capital_distribution', { symbol: 'SH.600519' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('bot', 'futu_get_max_trade_qty', { symbol: 'SH.600519', price: 1500 }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('acct', 'futu_get_order_fee', { acc_id: '1' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
  });

  it('the call rate: explain says it cannot see the count; beyond the cap the server refuses with call-rate-limit', async () => {
    // Two calls a minute: explain takes nothing from the cap, so both of these pass on the server.
    await same('chatty', 'futu_get_quote', QUOTE, { allowed: true });
    await same('chatty', 'futu_get_quote', QUOTE, { allowed: true });
    const predicted = await explain('chatty', 'futu_get_quote', QUOTE);
    assert.deepEqual([predicted.allowed, predicted.status], [true, 0]);
    assert.ok(
      predicted.assumptions.includes(
        "within the call rate: a server process refuses this key's calls beyond 2 in 60 s (call-rate-limit), counting them in its own memory, which explain cannot read; this call is taken as within it",
      ),
      predicted.assumptions.join('\n'),
    );
    const refused = await served('chatty', 'futu_get_quote', QUOTE);
    assert.deepEqual([refused.allowed, refused.code], [false, 'LIMIT_EXCEEDED']);
    const [message, retry] = refused.message.split(' (retry_after_seconds=');
    assert.equal(message, 'limit check failed: call rate limit (more than 2 calls in 60s)');
    assert.match(retry ?? '', /^\d+\)$/);
    refusalsBeforeCedar.add(message!);
  });

  it('the scope and account gates, invalid arguments and the real env', async () => {
    await same('reader', 'futu_place_order', order(300), { allowed: false, code: 'MISSING_SCOPE' });
    await same('reader', 'futu_cancel_order', { order_id: '1' }, { allowed: false, code: 'MISSING_SCOPE' });
    await same('reader', 'futu_unlock_trade', { unlock: true }, { allowed: false, code: 'MISSING_SCOPE' });
    await same('bot', 'futu_place_order', order(300, { env: 'real' }), { allowed: false, code: 'MISSING_SCOPE' });
    // The case: a read-only key asking for the real env is refused for the scope, not the arguments.
    const readOnlyReal = await same('reader', 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, env: 'real' }, { allowed: false, code: 'MISSING_SCOPE' });
    assert.equal(readOnlyReal.message, 'missing scope trade:real');
    await same('bot', 'futu_get_quote', { symbol: 'HK.00700', bogus: 1 }, { allowed: false, code: 'INVALID_ARGUMENT' });
    const accounts = (await served('reader', 'futu_list_accounts', {})).structured!.accounts as { acc_id: string }[] | { rows: unknown[][] };
    const accId = Array.isArray(accounts) ? accounts[0]!.acc_id : String((accounts as { rows: unknown[][] }).rows[0]![0]);
    await same('acct', 'futu_get_funds', { acc_id: accId }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    // Without an acc_id the read covers the key's accounts only: none of them exists at OpenD.
    await same('acct', 'futu_get_funds', { market: 'HK' }, { allowed: false, code: 'INVALID_ARGUMENT' });
  });

  it('every limit: market, symbol, side, hours, per-order value, rate, daily value, order ownership, cancel rate', async () => {
    await same('bot', 'futu_get_quote', { symbol: 'SH.600519' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('narrow', 'futu_get_quote', { symbol: 'HK.09988' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('narrow', 'futu_place_order', { ...order(300), side: 'SELL' }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('narrow', 'futu_place_order', order(300), { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('bot', 'futu_place_order', order(600), { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('bot', 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'MARKET', qty: 100 }, { allowed: true });
    // Two orders a minute: the first placed straight away (explain is a child process each time,
    // so the sequence is kept short: the ledger's 60 s window is real time), the second passes,
    // the third is refused by the rate limit.
    assert.equal((await served('rate', 'futu_place_order', order(300))).allowed, true);
    const placed = await same('rate', 'futu_place_order', order(301), { allowed: true });
    await same('rate', 'futu_place_order', order(302), { allowed: false, code: 'LIMIT_EXCEEDED' });
    // A cancel of its own order reduces risk: not held back by the order rate.
    const orderId = placed.structured!.order_id as string;
    await same('rate', 'futu_cancel_order', { order_id: orderId }, { allowed: true });

    await same('daily', 'futu_place_order', order(350), { allowed: true });
    await same('daily', 'futu_place_order', order(350), { allowed: false, code: 'LIMIT_EXCEEDED' });

    // Order ownership: another key's order is foreign (foreign-order) unless the key may manage any order.
    const foreign = (await served('other', 'futu_place_order', order(300))).structured!.order_id as string;
    const refused = await same('daily', 'futu_cancel_order', { order_id: foreign }, { allowed: false, code: 'POLICY_DENIED' });
    assert.match(refused.message, /^order not placed by this key/);
    await same('daily', 'futu_modify_order', { order_id: foreign, price: 299 }, { allowed: false, code: 'POLICY_DENIED' });
    await same('other', 'futu_modify_order', { order_id: foreign, qty: 100, price: 299 }, { allowed: true });
    await same('manager', 'futu_modify_order', { order_id: foreign, price: 298 }, { allowed: true });
    await same('manager', 'futu_cancel_order', { order_id: foreign }, { allowed: true });

    // One cancel a minute (cancel-rate-limit): the first cancel of its own order passes, the second is refused.
    const own: string[] = [];
    for (const price of [300, 301]) own.push((await served('canceller', 'futu_place_order', order(price))).structured!.order_id as string);
    await same('canceller', 'futu_cancel_order', { order_id: own[0] }, { allowed: true });
    const capped = await same('canceller', 'futu_cancel_order', { order_id: own[1] }, { allowed: false, code: 'LIMIT_EXCEEDED' });
    assert.match(capped.message, /cancel rate limit/);
  });

  it('unlock and the real env for a key that holds the scopes: a human must confirm (require_confirmation defaults to real)', async () => {
    await same('all', 'futu_unlock_trade', { unlock: true }, { allowed: false, code: 'CONFIRMATION_REQUIRED' });
    await same('all', 'futu_unlock_trade', { unlock: false }, { allowed: true });
    await same('all', 'futu_place_order', order(600, { env: 'real' }), { allowed: false, code: 'LIMIT_EXCEEDED' });
    await same('all', 'futu_place_order', order(300, { env: 'real' }), { allowed: false, code: 'CONFIRMATION_REQUIRED' });
    // require_confirmation: never — a real order is the trade:real permit's alone.
    await same('real', 'futu_place_order', order(300, { env: 'real' }), { allowed: true });
  });

  it('confirmation rules and the trading halt', async () => {
    await same('always', 'futu_place_order', order(300), { allowed: false, code: 'CONFIRMATION_REQUIRED' });
    await same('above', 'futu_place_order', order(300), { allowed: true });
    await same('above', 'futu_place_order', order(450), { allowed: false, code: 'CONFIRMATION_REQUIRED' });
    const halt = await runFutucliAsync(['halt', '--key', 'halted', '--reason', 'desk review', '--state-dir', run.path('parity.state')]);
    assert.equal(halt.status, 0, halt.stderr);
    const halted = await same('halted', 'futu_place_order', order(300), { allowed: false, code: 'TRADING_HALTED' });
    assert.equal(halted.message, 'trading halted: desk review');
    await same('halted', 'futu_get_quote', QUOTE, { allowed: true });
    const haltAll = await runFutucliAsync(['halt', '--key', 'halted-all', '--reason', 'desk review', '--state-dir', run.path('parity.state')]);
    assert.equal(haltAll.status, 0, haltAll.stderr);
    await same('halted-all', 'futu_unlock_trade', { unlock: true }, { allowed: false, code: 'TRADING_HALTED' });
    await same('halted-all', 'futu_unlock_trade', { unlock: false }, { allowed: true });
  });

  it('usage errors exit 2 and name the problem', async () => {
    const base = ['--keys-file', keysFile, 'policy', 'explain'];
    const unknownKey = await runFutucliAsync([...base, '--key', 'nosuch', '--tool', 'futu_ping']);
    assert.equal(unknownKey.status, 2);
    assert.match(unknownKey.stderr, /no key "nosuch" in /);
    const unknownTool = await runFutucliAsync([...base, '--key', 'bot', '--tool', 'futu_nothing']);
    assert.deepEqual([unknownTool.status, unknownTool.stderr.trim()], [2, 'error: unknown tool "futu_nothing"']);
    const badJson = await runFutucliAsync([...base, '--key', 'bot', '--tool', 'futu_ping', '--args', '{']);
    assert.deepEqual([badJson.status, badJson.stderr.trim()], [2, 'error: --args is not valid JSON']);
  });

  it('the sweep went through every registered tool', () => {
    assert.deepEqual([...sweptTools].sort(), TOOLS.map((t) => t.name).sort());
  });

  it('the sweep met every shipped policy: each determined a decision, or its rule refused a call before Cedar with its message', () => {
    const policies = [...compilePolicySet(defaultPolicyPaths()).meta.values()];
    const template = (message: string) => new RegExp(`^${message.split(/\{[^}]*\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('.+')}$`);
    const missed = policies
      .filter((p) => !determined.has(p.id) && !(p.effect === 'forbid' && [...refusalsBeforeCedar].some((m) => template(p.message).test(m))))
      .map((p) => p.id);
    assert.deepEqual(missed, []);
  });

  it('leaves verifiable audit chains and no secret in audit files, decision logs, logs or /metrics', async () => {
    await run.assertCleanFinish();
  });
});
