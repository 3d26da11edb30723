/**
 * Keyless slow connections cannot starve the server of file descriptors: a real futu-mcp under
 * `ulimit -n 1024` holds 2,000 half-sent keyless requests open against it and still takes a
 * legitimate client's order, writing its audit record and its state (issue 14 §3: before the
 * connection caps, such a flood made the order fail with AUDIT_WRITE_FAILED, EMFILE).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { slowLoris } from '../helpers/mcpClients.js';
import { E2eRun, ORDER, readAudit, SIM, tradeOk, type HttpServerProcess } from './helpers.js';

const SLOW = 2_000;
const DESCRIPTOR_LIMIT = 1_024;

describe(`${SLOW} keyless slow connections against a server with ${DESCRIPTOR_LIMIT} descriptors`, () => {
  const run = new E2eRun('slow-connections');
  let http: HttpServerProcess;
  let key: string;
  const sockets: Socket[] = [];

  before(async () => {
    const keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'trader', SIM);
    http = await run.startHttp({ name: 'slow-connections', keysFile, descriptorLimit: DESCRIPTOR_LIMIT });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await run.dispose();
  });

  it('a legitimate order still succeeds, and is audited, while the flood is held open', async () => {
    const port = Number(new URL(http.url).port);
    let closedByServer = 0;
    for (let i = 0; i < SLOW; i++) {
      const socket = await slowLoris(port);
      socket.once('close', () => (closedByServer += 1));
      sockets.push(socket);
    }
    const client = await run.connectHttp('v2', http.url, key);
    const placed = await tradeOk(client, 'futu_place_order', ORDER);
    assert.ok(placed.order_id, JSON.stringify(placed));
    const record = readAudit(http.auditLog).find((r) => r.event === 'tool_call' && r.tool === 'futu_place_order');
    assert.deepEqual([record?.key_id, record?.outcome], ['trader', 'success']);
    // The server made the room: it closed the oldest keyless connections, and said so once per thousand.
    assert.ok(closedByServer >= SLOW - DESCRIPTOR_LIMIT, `${closedByServer} of ${SLOW} closed by the server`);
    assert.match(http.stderr(), /"msg":"closing the oldest unauthenticated connections to admit new ones"/);
    // All connections together stay 128 descriptors below the limit: the reserve for the audit log and state files.
    assert.match(http.stderr(), new RegExp(`"max_connections":${DESCRIPTOR_LIMIT - 128},"max_unauthenticated":256,"descriptor_limit":${DESCRIPTOR_LIMIT},"msg":"http connection limits"`));
  });

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await run.assertCleanFinish();
  });
});
