/**
 * Several keys on one server, and which key a call runs as.
 *
 * Isolation (HTTP): two keys at once keep their own sessions, limits and audit identity; a key
 * presenting another key's Mcp-Session-Id is refused.
 * Precedence: the tool's `api_key` argument, then the HTTP bearer token, then the startup key
 * (FUTU_MCP_API_KEY); an invalid `api_key` is refused and never falls back to a lower level.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
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
} from './helpers.js';
import { mcpPostHeaders, rawHttp, toolCallBody } from '../helpers/mcpClients.js';

/** Well-formed, but no key of the file. */
const UNKNOWN_KEY = `fc_${'0'.repeat(64)}`;

describe('two keys at once over HTTP stay isolated', () => {
  const run = new E2eRun('isolation');
  let http: HttpServerProcess;
  let keys: Record<string, string>;

  before(async () => {
    const keysFile = run.path('keys.json');
    const specs: KeySpec[] = CLIENT_FLAVORS.flatMap((flavor) => [
      { id: `bot-a-${flavor}`, scopes: SIM, flags: ['--max-orders-per-minute', '3'] },
      { id: `bot-b-${flavor}`, scopes: SIM, flags: ['--max-orders-per-minute', '3'] },
    ]);
    keys = await run.genKeys(keysFile, specs);
    http = await run.startHttp({ name: 'isolation', keysFile });
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: sessions, limits and audit identity are per key`, async () => {
      const idA = `bot-a-${flavor}`;
      const idB = `bot-b-${flavor}`;
      const a = await run.connectHttp(flavor, http.url, keys[idA]!);
      const b = await run.connectHttp(flavor, http.url, keys[idB]!);
      assert.ok(a.sessionId && b.sessionId && a.sessionId !== b.sessionId);

      // Session hijack: B's token with A's session id is refused for every method; A's session survives.
      const seq = auditHead(http.auditLog);
      const hijack = await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(keys[idB], a.sessionId), body: toolCallBody('futu_place_order', ORDER) });
      assert.equal(hijack.status, 403);
      assert.equal(JSON.parse(hijack.body).error.data.reason, 'session_key_mismatch');
      for (const method of ['GET', 'DELETE']) {
        const res = await rawHttp(http.url, { method, headers: { ...mcpPostHeaders(keys[idB], a.sessionId), accept: 'text/event-stream' } });
        assert.equal(res.status, 403, method);
      }
      assert.equal(readAudit(http.auditLog).filter((r) => r.seq > seq && r.event === 'tool_intent').length, 0, 'the hijacked order never reached OpenD');
      const refusals = readAudit(http.auditLog).filter((r) => r.seq > seq && r.event === 'http_auth');
      assert.deepEqual(
        refusals.map((r) => [r.key_id, r.code, r.outcome, r.session_id]),
        Array.from({ length: 3 }, () => [idB, 'session_key_mismatch', 'reject', a.sessionId]),
        'each hijack attempt is audited under the key that made it',
      );
      assert.equal((await a.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, undefined, "A's session still works");

      // Concurrent calls from both keys: each result record names the key and session it came from.
      const start = auditHead(http.auditLog);
      await Promise.all([
        ...Array.from({ length: 6 }, () => a.callTool('futu_get_quote', { symbol: 'HK.00700' })),
        ...Array.from({ length: 6 }, () => b.callTool('futu_get_snapshot', { symbol: 'US.AAPL' })),
      ]);
      const fresh = readAudit(http.auditLog).filter((r) => r.seq > start && r.event === 'tool_call');
      assert.equal(fresh.length, 12);
      for (const r of fresh) {
        const expected: Record<string, unknown> = r.tool === 'futu_get_quote' ? { key_id: idA, session_id: a.sessionId } : { key_id: idB, session_id: b.sessionId };
        assert.deepEqual({ key_id: r.key_id, session_id: r.session_id }, expected);
      }

      // A exhausts its rate limit; B's orders are unaffected.
      for (let i = 0; i < 3; i++) await tradeOk(a, 'futu_place_order', ORDER);
      await expectRefusal(a, http, {
        tool: 'futu_place_order',
        args: ORDER,
        code: 'LIMIT_EXCEEDED',
        message: 'limit check failed: rate limit (3 in 60s, cap 3)',
        keyId: idA,
        limitReason: 'rate',
      });
      const seqB = auditHead(http.auditLog);
      await tradeOk(b, 'futu_place_order', ORDER);
      const recordB = onlyRecordAfter(http.auditLog, seqB, { event: 'tool_call', tool: 'futu_place_order' });
      assert.equal(recordB.key_id, idB);
      assert.equal(recordB.session_id, b.sessionId);
      assert.equal(recordB.outcome, 'success');

      const metrics = await http.metrics();
      assert.equal(sample(metrics, 'futu_auth_limit_rejects_total', { iface: 'mcp', key_id: idA, reason: 'rate' }), 1);
      assert.equal(sample(metrics, 'futu_auth_limit_rejects_total', { iface: 'mcp', key_id: idB, reason: 'rate' }), 0);
      assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'reject', key_id: idB }), 3, "B's three hijack attempts, nothing else");
      assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'allow', key_id: idB }), 7);
    });
  }

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await run.assertCleanFinish();
  });
});

describe('key precedence: api_key argument > HTTP bearer > startup key', () => {
  const run = new E2eRun('precedence');
  let keysFile: string;
  let keys: Record<string, string>;
  let http: HttpServerProcess;

  before(async () => {
    keysFile = run.path('keys.json');
    run.addSecret(UNKNOWN_KEY, 'made-up key');
    keys = await run.genKeys(keysFile, [
      { id: 'startup-trader', scopes: SIM },
      { id: 'bearer-reader', scopes: READ },
      { id: 'bearer-trader', scopes: SIM },
      { id: 'override-trader', scopes: SIM },
      { id: 'override-reader', scopes: READ },
    ]);
    // The startup key could trade: if it were ever used for an HTTP call, the refusals below would be orders.
    http = await run.startHttp({ name: 'precedence-http', keysFile, env: { FUTU_MCP_API_KEY: keys['startup-trader']! } });
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`HTTP, ${flavor}: the bearer beats the startup key, api_key beats the bearer, an invalid api_key never falls back`, async () => {
      const reader = await run.connectHttp(flavor, http.url, keys['bearer-reader']!);
      const trader = await run.connectHttp(flavor, http.url, keys['bearer-trader']!);

      // Bearer (read-only) over the startup key (trader): refused, under the bearer's id.
      const refused = await expectRefusal(reader, http, {
        tool: 'futu_place_order',
        args: ORDER,
        code: 'MISSING_SCOPE',
        message: 'missing scope trade:simulate',
        keyId: 'bearer-reader',
      });

      // api_key (trader) over the bearer (read-only): allowed, intent and result under api_key's id.
      const seq = auditHead(http.auditLog);
      await tradeOk(reader, 'futu_place_order', { ...ORDER, api_key: keys['override-trader'] });
      const intent = onlyRecordAfter(http.auditLog, seq, { event: 'tool_intent', tool: 'futu_place_order' });
      const result = onlyRecordAfter(http.auditLog, seq, { event: 'tool_call', tool: 'futu_place_order' });
      assert.equal(intent.key_id, 'override-trader');
      assert.equal(result.key_id, 'override-trader');
      assert.equal(result.outcome, 'success');
      assert.equal(result.session_id, reader.sessionId);
      // The key is not part of the argument hash: same order, same hash, whoever's key it ran under.
      assert.equal(result.args_hash, refused.args_hash);

      // api_key (read-only) over the bearer (trader): the override also lowers rights.
      await expectRefusal(trader, http, {
        tool: 'futu_place_order',
        args: { ...ORDER, api_key: keys['override-reader'] },
        code: 'MISSING_SCOPE',
        message: 'missing scope trade:simulate',
        keyId: 'override-reader',
      });

      // An invalid api_key with a trading bearer is refused, not replaced by the bearer.
      await expectRefusal(trader, http, {
        tool: 'futu_place_order',
        args: { ...ORDER, api_key: UNKNOWN_KEY },
        code: 'KEY_INVALID',
        message: 'invalid API key',
        keyId: '<invalid>',
      });

      // Without an override the trading bearer trades, under its own id.
      const own = auditHead(http.auditLog);
      await tradeOk(trader, 'futu_place_order', ORDER);
      assert.equal(onlyRecordAfter(http.auditLog, own, { event: 'tool_call', tool: 'futu_place_order' }).key_id, 'bearer-trader');
      assert.equal(readAudit(http.auditLog).filter((r) => r.key_id === 'startup-trader').length, 0, 'the startup key never served an HTTP call');
    });
  }

  for (const flavor of CLIENT_FLAVORS) {
    it(`stdio, ${flavor}: api_key beats the startup key, an invalid api_key never falls back`, async () => {
      const client = await run.connectStdio(flavor, { name: `precedence-stdio-${flavor}`, keysFile, apiKey: keys['startup-trader'] });
      const server = { auditLog: client.auditLog };

      const seq = auditHead(client.auditLog);
      await tradeOk(client, 'futu_place_order', ORDER);
      assert.equal(onlyRecordAfter(client.auditLog, seq, { event: 'tool_call', tool: 'futu_place_order' }).key_id, 'startup-trader');

      await expectRefusal(client, server, {
        tool: 'futu_place_order',
        args: { ...ORDER, api_key: keys['override-reader'] },
        code: 'MISSING_SCOPE',
        message: 'missing scope trade:simulate',
        keyId: 'override-reader',
      });
      await expectRefusal(client, server, {
        tool: 'futu_modify_order',
        args: { order_id: '1', price: 301, api_key: UNKNOWN_KEY },
        code: 'KEY_INVALID',
        message: 'invalid API key',
        keyId: '<invalid>',
      });
      const records = readAudit(client.auditLog).filter((r) => r.event === 'tool_call');
      assert.ok(records.every((r) => r.transport === 'stdio' && r.session_id === null));
    });
  }

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await http.metrics();
    await run.assertCleanFinish();
  });
});
