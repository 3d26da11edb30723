/**
 * Every reject path over real HTTP, with the v1 and the v2 client: the exact text the model sees,
 * the audit record (outcome "reject", key id, tool, code, reason) and the Prometheus counters.
 * Keys come from the real `futucli gen-key`; the server believes it runs on another machine
 * (FUTU_MCP_MACHINE_ID_FILE) so a key bound to "this" machine is refused there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { LimitsLedger } from '../../src/authz/ledger.js';
import {
  assertMatchesOutputSchema,
  auditHead,
  CLIENT_FLAVORS,
  E2eRun,
  expectRefusal,
  onlyRecordAfter,
  ORDER,
  READ,
  readAudit,
  sample,
  SIM,
  tradeOk,
  type HttpServerProcess,
  type KeySpec,
  type McpTestClient,
} from './helpers.js';


describe('reject paths over HTTP: message, audit record and metrics', () => {
  const run = new E2eRun('rejects');
  let http: HttpServerProcess;
  let keys: Record<string, string>;

  before(async () => {
    const keysFile = run.path('keys.json');
    const machineA = run.path('machine-a');
    const machineB = run.path('machine-b');
    writeFileSync(machineA, 'e2e-machine-a\n');
    writeFileSync(machineB, 'e2e-machine-b\n');
    const specs: KeySpec[] = [{ id: 'shared-reader', scopes: READ }];
    for (const flavor of CLIENT_FLAVORS) {
      specs.push(
        { id: `ro-${flavor}`, scopes: READ },
        { id: `sim-${flavor}`, scopes: SIM },
        { id: `markets-${flavor}`, scopes: SIM, flags: ['--allowed-markets', 'US'] },
        { id: `symbols-${flavor}`, scopes: SIM, flags: ['--allowed-symbols', 'HK.00005'] },
        { id: `sides-${flavor}`, scopes: SIM, flags: ['--allowed-trd-sides', 'SELL'] },
        { id: `value-${flavor}`, scopes: SIM, flags: ['--max-order-value', '40000'] },
        { id: `rate-${flavor}`, scopes: SIM, flags: ['--max-orders-per-minute', '3'] },
        { id: `daily-${flavor}`, scopes: SIM, flags: ['--max-daily-value', '70000'] },
        { id: `expired-${flavor}`, scopes: SIM },
        // Bound with futucli on machine A; the server below runs as machine B.
        { id: `bound-${flavor}`, scopes: SIM, flags: ['--bind-this-machine'], env: { FUTU_MCP_MACHINE_ID_FILE: machineA } },
      );
    }
    keys = await run.genKeys(keysFile, specs);
    for (const flavor of CLIENT_FLAVORS) run.expireKey(keysFile, `expired-${flavor}`);
    http = await run.startHttp({ name: 'rejects', keysFile, env: { FUTU_MCP_MACHINE_ID_FILE: machineB } });
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    describe(`${flavor} client`, () => {
      const clients = new Map<string, McpTestClient>();
      /** A client whose bearer token is key `id` (one session per key, reused). */
      const as = async (id: string): Promise<McpTestClient> => {
        let client = clients.get(id);
        if (!client) {
          client = await run.connectHttp(flavor, http.url, keys[id]!);
          clients.set(id, client);
        }
        return client;
      };
      const k = (name: string) => `${name}-${flavor}`;

      it('unknown tool: refused naming the tool, audited under the caller, counted as <unknown>', async () => {
        await expectRefusal(await as(k('ro')), http, {
          tool: 'futu_transfer_funds',
          args: { amount: 1 },
          code: 'UNKNOWN_TOOL',
          message: 'unknown MCP tool "futu_transfer_funds"',
          keyId: k('ro'),
          scope: null,
          metricsTool: '<unknown>',
        });
      });

      it('unknown argument field: refused naming the field, never dropped', async () => {
        await expectRefusal(await as(k('ro')), http, {
          tool: 'futu_get_quote',
          args: { symbols: ['HK.00700'], depth: 5 },
          code: 'INVALID_ARGUMENT',
          message: 'invalid arguments for futu_get_quote: Unrecognized key: "depth"',
          keyId: k('ro'),
        });
        // api_key exists only on trade tools; elsewhere it is an unknown field like any other (and its value is never echoed).
        await expectRefusal(await as(k('ro')), http, {
          tool: 'futu_get_funds',
          args: { market: 'HK', api_key: keys[k('sim')] },
          code: 'INVALID_ARGUMENT',
          message: 'invalid arguments for futu_get_funds: Unrecognized key: "api_key"',
          keyId: k('ro'),
        });
      });

      it('a call refused for its arguments is audited under its own api_key, not the session\'s key', async () => {
        const client = await as(k('ro'));
        const badQty = { ...ORDER, qty: -1 };
        const message = 'invalid arguments for futu_place_order: qty: Too small: expected number to be >0';
        await expectRefusal(client, http, { tool: 'futu_place_order', args: { ...badQty, api_key: keys[k('sim')] }, code: 'INVALID_ARGUMENT', message, keyId: k('sim') });
        await expectRefusal(client, http, { tool: 'futu_place_order', args: { ...badQty, api_key: 'fc_not_a_key' }, code: 'INVALID_ARGUMENT', message, keyId: '<invalid>' });
      });

      it('a malformed id argument is refused naming the field (and audited), not answered with an internal error', async () => {
        await expectRefusal(await as(k('sim')), http, {
          tool: 'futu_cancel_order',
          args: { order_id: 'ord-1' },
          code: 'INVALID_ARGUMENT',
          message: 'invalid arguments for futu_cancel_order: order_id: order_id must be a decimal string of digits',
          keyId: k('sim'),
        });
      });

      it('read-only key placing an order: missing scope trade:real (env real) and trade:simulate (default env)', async () => {
        const client = await as(k('ro'));
        await expectRefusal(client, http, {
          tool: 'futu_place_order',
          args: { ...ORDER, env: 'real' },
          code: 'MISSING_SCOPE',
          message: 'missing scope trade:real',
          keyId: k('ro'),
          scope: 'trade:real',
        });
        await expectRefusal(client, http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'MISSING_SCOPE',
          message: 'missing scope trade:simulate',
          keyId: k('ro'),
          scope: 'trade:simulate',
        });
        // The same key may still read: the refusals above were about scope, not about the key.
        const quote = await client.callTool('futu_get_quote', { symbol: 'HK.00700' });
        assert.equal(quote.isError, undefined);
      });

      it('a key without the scope learns nothing from OpenD: orders, accounts and quotes are not looked up', async () => {
        const client = await as(k('ro'));
        // Without the gate these answered "order 12345 not found in any real account", named an
        // account's env, or priced the order (subscribing to its quotes) before Cedar refused.
        const probes = [
          { tool: 'futu_cancel_order', args: { order_id: '12345', env: 'real' }, scope: 'trade:real' },
          { tool: 'futu_cancel_order', args: { order_id: '12345' }, scope: 'trade:simulate' },
          { tool: 'futu_modify_order', args: { order_id: '12345', price: 1 }, scope: 'trade:simulate' },
          { tool: 'futu_place_order', args: { ...ORDER, acc_id: '999999', env: 'real' }, scope: 'trade:real' },
          { tool: 'futu_place_order', args: { symbol: 'HK.99999', side: 'SELL', order_type: 'MARKET', qty: 100 }, scope: 'trade:simulate' },
        ];
        for (const probe of probes) {
          await expectRefusal(client, http, { ...probe, code: 'MISSING_SCOPE', message: `missing scope ${probe.scope}`, keyId: k('ro'), policies: [] });
        }
        // A simulate-only key asking about the real env is stopped at the same gate.
        await expectRefusal(await as(k('sim')), http, {
          tool: 'futu_cancel_order',
          args: { order_id: '12345', env: 'real' },
          code: 'MISSING_SCOPE',
          message: 'missing scope trade:real',
          keyId: k('sim'),
          scope: 'trade:real',
        });
      });

      it('a trade:simulate key spoofing env "real" is refused', async () => {
        const record = await expectRefusal(await as(k('sim')), http, {
          tool: 'futu_place_order',
          args: { ...ORDER, env: 'real' },
          code: 'MISSING_SCOPE',
          message: 'missing scope trade:real',
          keyId: k('sim'),
          scope: 'trade:real',
          // Refused by the scope gate, before any real account is looked up: no policy was evaluated.
          policies: [],
        });
        assert.equal(record.transport, 'http');
        assert.equal(record.session_id, clients.get(k('sim'))!.sessionId);
        // ... while the same order in the simulate env goes through.
        const placed = await tradeOk(await as(k('sim')), 'futu_place_order', ORDER);
        assert.equal(placed.env, 'simulate');
      });

      it('an expired key (per-call api_key) is refused: key expired', async () => {
        await expectRefusal(await as(k('sim')), http, {
          tool: 'futu_place_order',
          args: { ...ORDER, api_key: keys[k('expired')] },
          code: 'KEY_EXPIRED',
          message: 'key expired',
          keyId: k('expired'),
          scope: 'trade:simulate',
        });
      });

      it('an expired key as the bearer token is refused at the door with 401', async () => {
        await assert.rejects(run.connectHttp(flavor, http.url, keys[k('expired')]!), /401|key expired/);
      });

      it('a key bound to another machine is refused: key not bound to this machine', async () => {
        await expectRefusal(await as(k('sim')), http, {
          tool: 'futu_cancel_order',
          args: { order_id: '1', api_key: keys[k('bound')] },
          code: 'KEY_NOT_BOUND',
          message: 'key not bound to this machine',
          keyId: k('bound'),
          scope: 'trade:simulate',
        });
        await assert.rejects(run.connectHttp(flavor, http.url, keys[k('bound')]!), /401|not bound/);
      });

      it('market, symbol and side not allowed', async () => {
        await expectRefusal(await as(k('markets')), http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: market HK not allowed',
          keyId: k('markets'),
          policies: ['market-not-allowed'],
          limitReason: 'market',
        });
        await expectRefusal(await as(k('symbols')), http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: symbol HK.00700 not allowed',
          keyId: k('symbols'),
          policies: ['symbol-not-allowed'],
          limitReason: 'symbol',
        });
        await expectRefusal(await as(k('sides')), http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: side BUY not allowed',
          keyId: k('sides'),
          policies: ['side-not-allowed'],
          limitReason: 'side',
        });
      });

      it('a SELL of more than the account holds opens a short, and needs SELL_SHORT', async () => {
        // OpenD takes a short sale as a plain SELL of shares not held: the side key may sell, not short.
        await expectRefusal(await as(k('sides')), http, {
          tool: 'futu_place_order',
          args: { symbol: 'US.TSLA', side: 'SELL', order_type: 'LIMIT', qty: 10, price: 400 },
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: side SELL_SHORT not allowed',
          keyId: k('sides'),
          policies: ['side-not-allowed'],
          limitReason: 'side',
        });
        // Selling shares the account holds (the simulator's US account has 20 US.MSFT) is a SELL.
        const sold = await tradeOk(await as(k('sides')), 'futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'LIMIT', qty: 5, price: 900 });
        assert.equal(sold.side, 'SELL');
        // Raising that sell past what is left to sell would short the rest.
        await expectRefusal(await as(k('sides')), http, {
          tool: 'futu_modify_order',
          args: { order_id: sold.order_id, qty: 25 },
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: side SELL_SHORT not allowed',
          keyId: k('sides'),
          policies: ['side-not-allowed'],
          limitReason: 'side',
        });
        await tradeOk(await as(k('sides')), 'futu_cancel_order', { order_id: sold.order_id });
      });

      it('per-order value over the limit', async () => {
        await expectRefusal(await as(k('value')), http, {
          tool: 'futu_place_order',
          args: { ...ORDER, qty: 200 },
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: order value HKD 60,000.00 exceeds per-order limit HKD 40,000.00',
          keyId: k('value'),
          policies: ['order-value-limit'],
          limitReason: 'per_order',
        });
        // Under the cap (100 × 300 = HKD 30,000) the same key's order goes through.
        await tradeOk(await as(k('value')), 'futu_place_order', ORDER);
      });

      it('rate limit: the 4th order in a minute with --max-orders-per-minute 3', async () => {
        const client = await as(k('rate'));
        for (let i = 0; i < 3; i++) await tradeOk(client, 'futu_place_order', ORDER);
        await expectRefusal(client, http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: rate limit (3 in 60s, cap 3)',
          keyId: k('rate'),
          policies: ['rate-limit'],
          limitReason: 'rate',
        });
      });

      it('daily limit: an order that would take the day past --max-daily-value', async () => {
        const client = await as(k('daily'));
        const placed: string[] = [];
        for (let i = 0; i < 2; i++) placed.push(String((await tradeOk(client, 'futu_place_order', ORDER)).order_id));
        await expectRefusal(client, http, {
          tool: 'futu_place_order',
          args: ORDER,
          code: 'LIMIT_EXCEEDED',
          message: 'limit check failed: daily value HKD 90,000.00 would exceed daily limit HKD 70,000.00',
          keyId: k('daily'),
          policies: ['daily-limit'],
          limitReason: 'daily',
        });
        // A cancel of the key's own order adds no value, so it is never blocked by the value
        // limits, and its unfilled value returns to the day: the refused order now fits.
        await tradeOk(client, 'futu_cancel_order', { order_id: placed[0]! });
        assert.equal((await new LimitsLedger({ stateDir: run.path('rejects.state') }).usage(k('daily'), new Date())).dailyValue, 3_000_000);
      });
    });
  }

  it('a refused call leaves the next allowed call of the same key untouched', async () => {
    const client = await run.connectHttp('v2', http.url, keys['shared-reader']!);
    const tools = new Map((await client.listTools()).map((t) => [t.name, t]));
    const seq = auditHead(http.auditLog);
    const refused = await client.callTool('futu_place_order', ORDER);
    assert.equal(refused.isError, true);
    assertMatchesOutputSchema(tools.get('futu_get_quote')!, await client.callTool('futu_get_quote', { symbol: 'HK.00700' }));
    const ok = onlyRecordAfter(http.auditLog, seq, { event: 'tool_call', tool: 'futu_get_quote' });
    assert.equal(ok.outcome, 'success');
    assert.equal(ok.key_id, 'shared-reader');
  });

  it('the audit file answers "what was rejected, for whom" and /metrics agrees', async () => {
    // Refused tool calls and refused HTTP requests (401/403) are both authorization rejects.
    const rejects = readAudit(http.auditLog).filter((r) => (r.event === 'tool_call' || r.event === 'http_auth') && r.outcome === 'reject');
    const metrics = await http.metrics();
    const byKey = new Map<string, number>();
    for (const r of rejects) byKey.set(r.key_id as string, (byKey.get(r.key_id as string) ?? 0) + 1);
    for (const [keyId, n] of byKey) {
      assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'reject', key_id: keyId }), n, keyId);
    }
    for (const flavor of CLIENT_FLAVORS) assert.ok(byKey.get(`rate-${flavor}`) === 1 && byKey.get(`daily-${flavor}`) === 1);
  });

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await run.assertCleanFinish();
  });
});
