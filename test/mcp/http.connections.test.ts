import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createServer } from 'node:http';
import { setLogSink } from '../../src/shared/log.js';
import { DEFAULT_CONNECTION_LIMITS, guardConnections } from '../../src/mcp/http/connections.js';
import { startEchoHttpServer } from '../fixtures/echo-server.js';
import { INITIALIZE_BODY, mcpPostHeaders, rawHttp, slowLoris } from '../helpers/mcpClients.js';

setLogSink(() => {});

const SLOW = 2_000;
const CAP = 64;

describe('keyless slow connections', () => {
  it(`${SLOW} half-sent requests do not lock out a client with a key: the oldest unauthenticated ones are closed`, async () => {
    const server = await startEchoHttpServer({ connectionLimits: { maxUnauthenticated: CAP } });
    const sockets: Socket[] = [];
    try {
      let closedByServer = 0;
      for (let i = 0; i < SLOW; i++) {
        const socket = await slowLoris(server.port);
        socket.once('close', () => (closedByServer += 1));
        sockets.push(socket);
      }
      // Eviction is the server's doing: all but the newest CAP are closed.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(closedByServer >= SLOW - CAP - 1, `${closedByServer} closed`);
      assert.ok(sockets.slice(-CAP + 1).every((s) => !s.destroyed), 'the newest stay open');

      // A legitimate client still gets in, with the flood still held open.
      const init = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: INITIALIZE_BODY });
      assert.equal(init.status, 200, init.body);
      assert.ok(init.headers['mcp-session-id']);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.close();
    }
  });

  it('an authenticated connection no longer counts against the unauthenticated cap', async () => {
    const server = await startEchoHttpServer({ connectionLimits: { maxUnauthenticated: 2 } });
    const sockets: Socket[] = [];
    try {
      // A keep-alive connection that authenticated, then two slow ones: it is not the one closed.
      const keepAlive = connect({ host: '127.0.0.1', port: server.port });
      sockets.push(keepAlive);
      await new Promise<void>((resolve) => keepAlive.once('connect', resolve));
      const headers = Object.entries({ ...mcpPostHeaders('fc_alpha_token'), host: '127.0.0.1', 'content-length': String(Buffer.byteLength(INITIALIZE_BODY)) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      let answer = '';
      keepAlive.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      keepAlive.write(`POST /mcp HTTP/1.1\r\n${headers}\r\n${INITIALIZE_BODY}`);
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => answer.includes('\r\n\r\n') && (clearInterval(poll), resolve()), 10);
      });
      assert.match(answer, /^HTTP\/1\.1 200/);
      for (let i = 0; i < 3; i++) sockets.push(await slowLoris(server.port));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(keepAlive.destroyed, false);
      assert.equal(sockets[1]!.destroyed || sockets[1]!.readableEnded, true, 'the oldest slow one was closed');
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.close();
    }
  });

  it('a request must arrive whole in bounded time: late headers, then a late body, are answered 408 and closed', async () => {
    const server = await startEchoHttpServer({ connectionLimits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    try {
      /** What the server sent before it closed the socket (bounded: Node's own defaults are 60 s and 300 s). */
      const closedWith = (socket: Socket): Promise<string> =>
        new Promise((resolve, reject) => {
          let received = '';
          const bound = setTimeout(() => reject(new Error(`still open after 10 s; received ${JSON.stringify(received)}`)), 10_000);
          socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
          socket.once('close', () => (clearTimeout(bound), resolve(received)));
        });
      const headersOnly = await slowLoris(server.port);
      const bodyOpen = connect({ host: '127.0.0.1', port: server.port });
      bodyOpen.on('error', () => undefined);
      await new Promise<void>((resolve) => bodyOpen.once('connect', resolve));
      const headers = Object.entries({ ...mcpPostHeaders('fc_alpha_token'), host: '127.0.0.1', 'content-length': '1000' })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      bodyOpen.write(`POST /mcp HTTP/1.1\r\n${headers}\r\n{"jsonrpc":"2.0",`);
      const [lateHeaders, lateBody] = await Promise.all([closedWith(headersOnly), closedWith(bodyOpen)]);
      assert.match(lateHeaders, /^HTTP\/1\.1 408 /);
      assert.match(lateBody, /^HTTP\/1\.1 408 /);
    } finally {
      await server.close();
    }
  });

  it('all connections together are capped below the descriptor limit, keeping a reserve for the audit log and state files', () => {
    const server = createServer();
    guardConnections(server, { ...DEFAULT_CONNECTION_LIMITS, reserveDescriptors: 128 }, 1024);
    assert.equal(server.maxConnections, 1024 - 128);
    const roomy = createServer();
    guardConnections(roomy, DEFAULT_CONNECTION_LIMITS, 1_000_000);
    assert.equal(roomy.maxConnections, DEFAULT_CONNECTION_LIMITS.maxConnections);
  });
});
