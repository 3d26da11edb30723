/**
 * Requests without a recognised key cost the sender nothing: over real HTTP, a flood of them is
 * counted in full but audited only 20 a minute plus one summary, so it cannot fill the audit
 * disk (which, failing closed, would deny every key's calls). A recognised key's refusals are
 * still recorded one by one, and nothing the sender put in a header is echoed into a record.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mcpPostHeaders, rawHttp, toolCallBody } from '../helpers/mcpClients.js';
import { E2eRun, READ, readAudit, sample, type HttpServerProcess } from './helpers.js';

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
    // A recognised (expired) key is never throttled: only its holder can send these.
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
