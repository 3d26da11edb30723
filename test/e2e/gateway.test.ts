/**
 * `gateway not connected`: futu-mcp against a simulator started separately (so the test can stop
 * it), over HTTP with metrics, and over stdio against an address where nothing listens. A trade
 * that failed because OpenD was down gives its rate-limit slot back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setLogLevel } from '../../src/shared/log.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import {
  assertToolError,
  auditHead,
  CLIENT_FLAVORS,
  E2E_SIM_CLOCK,
  E2eRun,
  expectRefusal,
  onlyRecordAfter,
  ORDER,
  sample,
  SIM,
  TRADE_PWD,
  tradeOk,
  waitForReadyz,
  type HttpServerProcess,
  type McpTestClient,
} from './helpers.js';

/** What a call says while nothing listens on OpenD's port: the reason, the address, the flag to check. */
const notConnected = (port: number) =>
  ({
    code: 'GATEWAY_NOT_CONNECTED',
    message: `gateway not connected: connect ECONNREFUSED 127.0.0.1:${port}; is OpenD running at 127.0.0.1:${port}? (check --gateway)`,
  }) as const;

// The simulator runs in this process; its connection log lines would clutter the test report.
setLogLevel('warn');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gateway down over HTTP', () => {
  const run = new E2eRun('gateway-http');
  let sim: SimulatorHandle | undefined;
  let port: number;
  let http: HttpServerProcess;
  let key: string;

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    port = sim.port;
    const keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'ops', SIM, ['--max-daily-value', '40000']);
    http = await run.startHttp({ name: 'gateway-http', keysFile, gateway: `127.0.0.1:${port}` });
  });
  after(async () => {
    await run.dispose();
    await sim?.close();
  });

  it('calls fail with "gateway not connected" (audited as failures) and the order value is given back', async () => {
    const clients: McpTestClient[] = [];
    for (const flavor of CLIENT_FLAVORS) clients.push(await run.connectHttp(flavor, http.url, key));
    for (const client of clients) assert.equal((await client.callTool('futu_get_quote', { symbol: 'HK.00700' })).isError, undefined);
    // Resolves the account while OpenD is up, so the order below gets as far as the gateway.
    assert.equal((await clients[0]!.callTool('futu_list_accounts', {})).isError, undefined);

    await sim!.close();
    sim = undefined;
    const NOT_CONNECTED = notConnected(port);
    // /readyz says why: once the reconnect attempts are refused, that is the reason everywhere.
    await waitForReadyz(http.origin, 503, NOT_CONNECTED.message);
    assert.equal(sample(await http.metrics(), 'futu_gateway_up', {}), 0);

    for (const client of clients) {
      await expectRefusal(client, http, { tool: 'futu_get_quote', args: { symbol: 'HK.00700' }, ...NOT_CONNECTED, keyId: 'ops', outcome: 'failure', scope: 'qot:read' });
    }
    // Authorized, value reserved, sent, failed: a failure, and the ledger releases the reserved value.
    const failed = await expectRefusal(clients[0]!, http, { tool: 'futu_place_order', args: ORDER, ...NOT_CONNECTED, keyId: 'ops', outcome: 'failure' });
    assert.deepEqual(failed.policies, ['permit-trade-simulate']);

    // OpenD comes back on the same address; the gateway reconnects by itself.
    sim = await startSimulator({ port, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    await waitForReadyz(http.origin, 200);
    assert.equal(sample(await http.metrics(), 'futu_gateway_up', {}), 1);

    // With --max-daily-value 40000, this HKD 30,000 order only passes because the failed one was released...
    await tradeOk(clients[1]!, 'futu_place_order', ORDER);
    // ... and the accepted one counts.
    await expectRefusal(clients[1]!, http, {
      tool: 'futu_place_order',
      args: ORDER,
      code: 'LIMIT_EXCEEDED',
      message: 'limit check failed: daily value HKD 60,000.00 would exceed daily limit HKD 40,000.00',
      keyId: 'ops',
      limitReason: 'daily',
    });
  });

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await run.assertCleanFinish();
  });
});

describe('gateway unreachable over stdio', () => {
  const run = new E2eRun('gateway-stdio');
  let keysFile: string;
  let key: string;

  before(async () => {
    keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'claude-bot', SIM);
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: the server still starts, and every gateway call says "gateway not connected"`, async () => {
      const port = await freePort();
      const NOT_CONNECTED = notConnected(port);
      const client = await run.connectStdio(flavor, {
        name: `unreachable-${flavor}`,
        keysFile,
        apiKey: key,
        gateway: `127.0.0.1:${port}`,
        waitConnected: false,
      });
      // The key lacks trade:unlock: every other tool is listed.
      assert.deepEqual((await client.listTools()).length, 38);
      assert.ok(!(await client.listTools()).some((t) => t.name === 'futu_unlock_trade'));
      const server = { auditLog: client.auditLog };
      await expectRefusal(client, server, { tool: 'futu_ping', args: {}, ...NOT_CONNECTED, keyId: 'claude-bot', outcome: 'failure' });
      // Account reads resolve the account on the gateway while being authorized, so this fails one step earlier.
      const seq = auditHead(client.auditLog);
      assertToolError(await client.callTool('futu_get_positions', { market: 'HK' }), NOT_CONNECTED.code, NOT_CONNECTED.message);
      const record = onlyRecordAfter(client.auditLog, seq, { event: 'tool_call', tool: 'futu_get_positions' });
      assert.deepEqual([record.key_id, record.code, record.reason], ['claude-bot', NOT_CONNECTED.code, NOT_CONNECTED.message]);
      assert.notEqual(record.outcome, 'success');
      assert.doesNotMatch(client.stderr(), /"msg":"connected to OpenD"/);
    });
  }

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});
