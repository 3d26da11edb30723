/**
 * Requests without a recognised key cost the sender nothing: over real HTTP, a flood of them is
 * counted in full but audited only 20 a minute plus one summary, so it cannot fill the audit
 * disk (which, failing closed, would deny every key's calls). A recognised key's refusals
 * (revoked, expired) are throttled the same way per key id, and nothing the sender put in a
 * header is echoed into a record.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mcpPostHeaders, rawHttp, toolCallBody } from '../helpers/mcpClients.js';
import { E2eRun, ORDER, READ, readAudit, sample, SIM, textOf, type AuditRecord, type HttpServerProcess } from './helpers.js';

const FLOOD = 45;
const RECORDED_PER_MINUTE = 20;

describe('a flood of unauthenticated requests', () => {
  const run = new E2eRun('flood');
  let http: HttpServerProcess;
  let keys: Record<string, string>;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [{ id: 'reader', scopes: READ }, { id: 'doomed', scopes: READ }]);
    run.expireKey(keysFile, 'doomed');
    http = await run.startHttp({ name: 'flood', keysFile });
  });
  after(() => run.dispose());

  it('is counted in full, audited 20 a minute plus one summary, and echoes no header', async () => {
    const hugeSessionId = `ATTACKER-CONTROLLED-${'A'.repeat(15_000)}`;
    const body = toolCallBody('futu_get_quote', { symbol: 'HK.00700' });
    for (let i = 0; i < FLOOD; i++) {
      // No token, an unknown token, and an unknown token with a header the sender made up.
      const headers =
        i % 3 === 0 ? mcpPostHeaders() : i % 3 === 1 ? mcpPostHeaders(`fc_${'0'.repeat(64)}`) : mcpPostHeaders(`fc_${'1'.repeat(64)}`, hugeSessionId);
      assert.equal((await rawHttp(http.url, { method: 'POST', headers, body })).status, 401);
    }
    // A recognised (expired) key has its own allowance: the anonymous flood does not use it up.
    for (let i = 0; i < 3; i++) assert.equal((await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(keys.doomed), body })).status, 401);

    const metrics = await http.metrics();
    const counted = ['<missing>', '<invalid>'].map((keyId) => sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'reject', key_id: keyId }));
    assert.deepEqual(counted, [FLOOD / 3, (2 * FLOOD) / 3]);
    assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'reject', key_id: 'doomed' }), 3);

    await http.stop(); // the summary is written at shutdown, before the shutdown record
    const records = readAudit(http.auditLog);
    const refusals = records.filter((r) => r.event === 'http_auth');
    assert.equal(refusals.filter((r) => r.key_id !== 'doomed').length, RECORDED_PER_MINUTE);
    assert.equal(refusals.filter((r) => r.key_id === 'doomed').length, 3);
    assert.ok(refusals.every((r) => r.session_id === null || r.session_id === '<malformed>'));
    assert.ok(refusals.some((r) => r.session_id === '<malformed>'));
    assert.ok(!JSON.stringify(records).includes('ATTACKER-CONTROLLED'));

    const summaries = records.filter((r) => r.event === 'http_auth_suppressed');
    assert.equal(summaries.length, 1);
    const summary = summaries[0]!;
    assert.equal(summary.count, FLOOD - RECORDED_PER_MINUTE);
    assert.equal(summary.outcome, 'reject');
    const codes = summary.codes as Array<{ code: string; count: number }>;
    assert.deepEqual(codes.map((c) => c.code), ['KEY_INVALID', 'missing_token']);
    assert.equal(codes.reduce((sum, c) => sum + c.count, 0), FLOOD - RECORDED_PER_MINUTE);
    assert.match(String(summary.reason), /^25 more HTTP refusals without a recognised key \(.*\) were counted, not recorded one by one$/);
    assert.equal(records.at(-1)!.event, 'shutdown');
    assert.ok(summary.seq < records.at(-1)!.seq);
  });
});

describe('a revoked key that keeps calling', () => {
  const run = new E2eRun('flood-revoked');
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  const REFUSALS = 5_000;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [{ id: 'leaked', scopes: READ }, { id: 'other', scopes: READ }]);
    http = await run.startHttp({ name: 'flood-revoked', keysFile });
    await run.revokeKey(keysFile, 'leaked');
    await http.hup();
  });
  after(() => run.dispose());

  it(`${REFUSALS} refusals leave 20 records and one summary under its id; another key's refusals keep their own records`, async () => {
    const body = toolCallBody('futu_get_quote', { symbol: 'HK.00700' });
    let next = 0;
    const worker = async () => {
      while (next < REFUSALS) {
        next += 1;
        assert.equal((await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(keys.leaked), body })).status, 401);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // Every refusal is counted in the metrics (read now: a reload drops the series of keys no longer in keys.json).
    const metrics = await http.metrics();
    assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'reject', key_id: 'leaked' }), REFUSALS);
    // Another recognised key refused in the same minute still gets its records.
    const otherFile = run.path('keys.json');
    run.expireKey(otherFile, 'other');
    await http.hup();
    for (let i = 0; i < 2; i++) assert.equal((await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(keys.other), body })).status, 401);

    await http.stop();
    const records = readAudit(http.auditLog);
    const of = (keyId: string): AuditRecord[] => records.filter((r) => r.event === 'http_auth' && r.key_id === keyId);
    assert.equal(of('leaked').length, RECORDED_PER_MINUTE);
    assert.ok(of('leaked').every((r) => r.code === 'KEY_REVOKED'));
    assert.equal(of('other').length, 2);
    const summaries = records.filter((r) => r.event === 'http_auth_suppressed');
    assert.equal(summaries.length, 1);
    assert.deepEqual(
      [summaries[0]!.key_id, summaries[0]!.count, summaries[0]!.codes, summaries[0]!.reason],
      ['leaked', REFUSALS - RECORDED_PER_MINUTE, [{ code: 'KEY_REVOKED', count: REFUSALS - RECORDED_PER_MINUTE }], `${REFUSALS - RECORDED_PER_MINUTE} more HTTP refusals of key leaked (${REFUSALS - RECORDED_PER_MINUTE} KEY_REVOKED) were counted, not recorded one by one`],
    );
    // Bounded: the whole log is a few dozen records, not thousands.
    assert.ok(records.length < 40, `${records.length} records`);
  });
});

describe('a valid key calling with a bad api_key argument', () => {
  const run = new E2eRun('flood-api-key');
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  const CALLS = 60;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [{ id: 'trader', scopes: SIM }, { id: 'leaked', scopes: SIM }]);
    http = await run.startHttp({ name: 'flood-api-key', keysFile });
    await run.revokeKey(keysFile, 'leaked');
    await http.hup();
  });
  after(() => run.dispose());

  it(`${CALLS} orders under an unknown key and ${CALLS} under a revoked one (valid or not) leave 20 records and one summary each`, async () => {
    run.addSecret(`fc_${'7'.repeat(64)}`, 'an unknown key');
    const client = await run.connectHttp('v2', http.url, keys.trader!);
    const unknown = `fc_${'7'.repeat(64)}`;
    for (let i = 0; i < CALLS; i++) {
      assert.match(textOf(await client.callTool('futu_place_order', { ...ORDER, api_key: unknown })), /^error \(KEY_INVALID\)/);
      // Half of the revoked key's calls are also malformed: refused by the MCP layer, attributed to the key all the same.
      const args = i % 2 === 0 ? { ...ORDER, api_key: keys.leaked! } : { ...ORDER, qty: 'many', api_key: keys.leaked! };
      assert.match(textOf(await client.callTool('futu_place_order', args)), /^error \((KEY_REVOKED|INVALID_ARGUMENT)\)/);
    }
    // The caller's own key still works, and its calls keep their records.
    assert.equal((await client.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, undefined);
    await client.close();

    await http.stop();
    const records = readAudit(http.auditLog);
    const calls = (keyId: string) => records.filter((r) => r.event === 'tool_call' && r.key_id === keyId);
    assert.equal(calls('<invalid>').length, RECORDED_PER_MINUTE);
    assert.equal(calls('leaked').length, RECORDED_PER_MINUTE);
    assert.equal(calls('trader').length, 1);
    const summaries = records.filter((r) => r.event === 'tool_call_suppressed');
    assert.deepEqual(
      summaries.map((s) => [s.key_id, s.count, s.codes]).sort(),
      [
        ['<invalid>', CALLS - RECORDED_PER_MINUTE, [{ code: 'KEY_INVALID', count: CALLS - RECORDED_PER_MINUTE }]],
        // Alternating, the first 20 recorded are 10 of each kind.
        ['leaked', CALLS - RECORDED_PER_MINUTE, [{ code: 'INVALID_ARGUMENT', count: (CALLS - RECORDED_PER_MINUTE) / 2 }, { code: 'KEY_REVOKED', count: (CALLS - RECORDED_PER_MINUTE) / 2 }]],
      ].sort(),
    );
    assert.equal(
      summaries.find((s) => s.key_id === 'leaked')!.reason,
      `${CALLS - RECORDED_PER_MINUTE} more calls refused for their API key (leaked) (20 INVALID_ARGUMENT, 20 KEY_REVOKED) were counted, not recorded one by one`,
    );
    assert.ok(records.length < 60, `${records.length} records`);
  });

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});
