/**
 * OpenD's order spacing over real HTTP: 20 parallel futu_place_order calls from one key reach the
 * simulator (which enforces OpenD's 20 ms gap and 15-per-30 s window on arrival) without a single
 * OpenD refusal; what the window cannot take is refused by the gateway with when to retry,
 * before the limits ledger or the intent record: a refusal leaves only its audit record.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { E2eRun, readAudit, SIM, textOf, type HttpServerProcess } from './helpers.js';

describe('20 parallel orders over HTTP', () => {
  const run = new E2eRun('pacing');
  let http: HttpServerProcess;
  let key: string;

  before(async () => {
    const keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'burst', SIM, ['--max-orders-per-minute', '100']);
    http = await run.startHttp({ name: 'pacing', keysFile });
  });
  after(() => run.dispose());

  it('none is refused by OpenD for spacing; 15 are placed, the rest get GATEWAY_RATE_LIMITED with retry_after_seconds', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => run.connectHttp('v2', http.url, key)));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clients[i % clients.length]!.callTool('futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 + i * 0.2 }),
      ),
    );
    const failures = results.filter((r) => r.isError).map(textOf);
    assert.deepEqual(failures.filter((f) => !/^error \(GATEWAY_RATE_LIMITED\): OpenD allows 15 place requests per 30s; retry in \d+s \(retry_after_seconds=\d+\)$/.test(f)), []);
    assert.equal(results.filter((r) => !r.isError).length, 15);
    const orders = (await clients[0]!.callTool('futu_get_orders', { market: 'HK', status: ['SUBMITTED'] })).structuredContent as { orders: unknown[] };
    assert.equal(orders.orders.length, 15, 'OpenD holds exactly the placed orders');
    // A refusal by the guard comes before the limits ledger: it records nothing but its audit record.
    const limits = (await clients[0]!.callTool('futu_get_limits', {})).structuredContent as { orders_left_this_minute: number };
    assert.equal(limits.orders_left_this_minute, 85, 'only the 15 orders sent count against the key\'s rate');
    const records = readAudit(http.auditLog).filter((r) => r.tool === 'futu_place_order');
    assert.equal(records.filter((r) => r.event === 'tool_intent').length, 15, 'an intent record for each order sent only');
    assert.equal(records.filter((r) => r.event === 'tool_call' && r.code === 'GATEWAY_RATE_LIMITED').length, 5);
  });
});
