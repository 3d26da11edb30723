/**
 * The per-key call-rate cap over real HTTP with real clients: reads, invalid calls and trades all
 * count; a call over the cap is refused with retry_after_seconds (text and _meta); the refusals
 * a flooding key causes leave a bounded number of audit records plus one summary; other keys
 * are untouched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_FLAVORS, E2eRun, READ, readAudit, sample, textOf, type HttpServerProcess, type McpTestClient } from './helpers.js';

const CAP = 5;
const FLOOD = 150;
const RECORDED_PER_MINUTE = 20;

describe('per-key call rate', () => {
  const run = new E2eRun('call-rate');
  let http: HttpServerProcess;
  let keys: Record<string, string>;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      ...CLIENT_FLAVORS.map((flavor) => ({ id: `capped-${flavor}`, scopes: READ, flags: ['--max-calls-per-minute', String(CAP)] })),
      { id: 'neighbour', scopes: READ },
    ]);
    http = await run.startHttp({ name: 'call-rate', keysFile });
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: reads and invalid calls count; the next call is refused with retry_after_seconds; a flood leaves ${RECORDED_PER_MINUTE} records and a summary`, async () => {
      const keyId = `capped-${flavor}`;
      const client: McpTestClient = await run.connectHttp(flavor, http.url, keys[keyId]!);
      // Five calls of every kind: three reads, one with a bad argument, one of an unknown tool.
      for (const symbol of ['HK.00700', 'US.AAPL']) assert.equal((await client.callTool('futu_get_quote', { symbol })).isError, undefined);
      assert.equal((await client.callTool('futu_ping')).isError, undefined);
      assert.match(textOf(await client.callTool('futu_get_quote', { symbol: 'HK.00700', bogus: 1 })), /^error \(INVALID_ARGUMENT\)/);
      assert.match(textOf(await client.callTool('futu_no_such_tool')), /^error \(UNKNOWN_TOOL\)/);

      const refused = await client.callTool('futu_ping');
      assert.equal(refused.isError, true);
      const match = /^error \(LIMIT_EXCEEDED\): limit check failed: call rate limit \(more than 5 calls in 60s\) \(retry_after_seconds=(\d+)\)$/.exec(textOf(refused));
      assert.ok(match, textOf(refused));
      const retryAfter = Number(match[1]);
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry_after_seconds=${retryAfter}`);
      assert.deepEqual(refused._meta?.['futu-mcp/error'], { code: 'LIMIT_EXCEEDED', retry_after_seconds: retryAfter });
      assert.equal(refused.structuredContent, undefined);
      // An invalid call over the cap is refused for the rate, not answered as if it had been read.
      assert.match(textOf(await client.callTool('futu_get_quote', { bogus: true })), /^error \(LIMIT_EXCEEDED\): limit check failed: call rate limit/);

      // Another key is not held back.
      const neighbour = await run.connectHttp(flavor, http.url, keys.neighbour!);
      assert.equal((await neighbour.callTool('futu_ping')).isError, undefined);

      for (let i = 0; i < FLOOD; i++) assert.equal((await client.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, true);
      const refusals = FLOOD + 2;
      assert.equal(sample(await http.metrics(), 'futu_auth_limit_rejects_total', { iface: 'mcp', key_id: keyId, reason: 'call_rate' }), refusals);
      await client.close();
      await neighbour.close();
    });
  }

  it('after shutdown the audit log holds, per capped key, the calls it was allowed, 20 refusals and one summary of the rest', async () => {
    await http.stop();
    const records = readAudit(http.auditLog);
    for (const flavor of CLIENT_FLAVORS) {
      const keyId = `capped-${flavor}`;
      const calls = records.filter((r) => r.event === 'tool_call' && r.key_id === keyId);
      const rateRefusals = calls.filter((r) => r.code === 'LIMIT_EXCEEDED');
      assert.equal(calls.length - rateRefusals.length, CAP, 'every call within the cap has its record');
      assert.equal(rateRefusals.length, RECORDED_PER_MINUTE);
      assert.ok(rateRefusals.every((r) => /^limit check failed: call rate limit \(more than 5 calls in 60s\) \(retry_after_seconds=\d+\)$/.test(String(r.reason))));
      const summaries = records.filter((r) => r.event === 'tool_call_suppressed' && r.key_id === keyId);
      assert.equal(summaries.length, 1);
      const suppressed = FLOOD + 2 - RECORDED_PER_MINUTE;
      assert.deepEqual([summaries[0]!.count, summaries[0]!.codes], [suppressed, [{ code: 'LIMIT_EXCEEDED', count: suppressed }]]);
      assert.equal(summaries[0]!.reason, `${suppressed} more calls of key ${keyId} over its call rate (${suppressed} LIMIT_EXCEEDED) were counted, not recorded one by one`);
    }
    assert.equal(records.filter((r) => r.key_id === 'neighbour' && r.event === 'tool_call').length, CLIENT_FLAVORS.length);
  });
});
