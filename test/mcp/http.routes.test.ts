import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setLogSink } from '../../src/shared/log.js';
import { parseListen } from '../../src/mcp/http/listen.js';
import { INITIALIZE_BODY, mcpPostHeaders, rawHttp } from '../helpers/mcpClients.js';
import { startEchoHttpServer, type EchoHttpServer } from '../fixtures/echo-server.js';

setLogSink(() => {});

const PROMETHEUS = 'text/plain; version=0.0.4; charset=utf-8';

describe('HTTP service routes', () => {
  let server: EchoHttpServer;
  let origin: string;
  let ready = false;
  before(async () => {
    server = await startEchoHttpServer({
      health: { ready: () => ready },
      metrics: { contentType: PROMETHEUS, render: async () => 'futu_mcp_tool_calls_total{tool="echo",outcome="ok"} 3\n' },
    });
    origin = new URL(server.url).origin;
  });
  after(() => server.close());

  it('serves Prometheus metrics without a token', async () => {
    const res = await rawHttp(`${origin}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], PROMETHEUS);
    assert.equal(res.body, 'futu_mcp_tool_calls_total{tool="echo",outcome="ok"} 3\n');
  });

  it('reports liveness always and readiness from the health probe', async () => {
    assert.deepEqual([(await rawHttp(`${origin}/healthz`)).status, (await rawHttp(`${origin}/readyz`)).status], [200, 503]);
    ready = true;
    const readyz = await rawHttp(`${origin}/readyz`);
    assert.deepEqual([readyz.status, JSON.parse(readyz.body)], [200, { status: 'ready' }]);
  });

  it('answers unknown paths 404 and wrong methods 405 with Allow', async () => {
    assert.equal((await rawHttp(`${origin}/admin`)).status, 404);
    const post = await rawHttp(`${origin}/metrics`, { method: 'POST', body: '{}' });
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET']);
    const put = await rawHttp(server.url, { method: 'PUT', body: '{}' });
    assert.deepEqual([put.status, put.headers.allow], [405, 'POST, GET, DELETE']);
  });

  it('refuses a Host that does not name this server (DNS rebinding) on every route', async () => {
    for (const path of ['/mcp', '/metrics', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await rawHttp(`${origin}${path}`, { headers: { host: `attacker.example:${server.port}` } });
      assert.equal(res.status, 403, path);
      assert.match(res.body, /Invalid Host: attacker\.example/);
    }
    assert.equal((await rawHttp(`${origin}/healthz`, { headers: { host: `localhost:${server.port}` } })).status, 200);
  });

  it('refuses a foreign or opaque Origin and accepts this server as origin', async () => {
    for (const bad of ['https://evil.example', 'null']) {
      const res = await rawHttp(server.url, { method: 'POST', headers: { ...mcpPostHeaders('fc_alpha_token'), origin: bad }, body: INITIALIZE_BODY });
      assert.equal(res.status, 403, bad);
    }
    const own = await rawHttp(`${origin}/healthz`, { headers: { origin: 'http://localhost:5173' } });
    assert.equal(own.status, 200);
  });

  it('refuses a body over 1 MiB by default, declared or streamed, and only after authentication', async () => {
    const oversized = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(1024 * 1024) } });
    const declared = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: oversized });
    assert.equal(declared.status, 413);
    assert.match(JSON.parse(declared.body).error.message, /exceeds 1048576 bytes/);
    const streamed = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: oversized, chunked: true });
    assert.equal(streamed.status, 413);
    const anonymous = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders(), body: oversized });
    assert.equal(anonymous.status, 401);
  });

  it('answers a body that is not JSON with a JSON-RPC parse error', async () => {
    const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: '{"jsonrpc":' });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error.code, -32700);
  });

  it('answers JSON that is not a JSON-RPC message (no method, no jsonrpc, empty batch) with -32600 Invalid Request', async () => {
    for (const body of ['{"jsonrpc":"2.0","id":1}', '{"id":1,"method":"tools/list"}', '[]', '[{"jsonrpc":"2.0","id":1,"method":"ping"},42]', '"text"']) {
      const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body });
      assert.equal(res.status, 400, body);
      const { error } = JSON.parse(res.body);
      assert.equal(error.code, -32600, body);
      assert.match(error.message, /^Invalid Request: each JSON-RPC message needs "jsonrpc": "2.0" and a "method"/);
    }
    // A well-formed message still reaches the transport.
    assert.equal((await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: INITIALIZE_BODY })).status, 200);
  });
});

describe('HTTP options', () => {
  it('applies a smaller body cap exactly', async () => {
    const limit = INITIALIZE_BODY.length + 10;
    const server = await startEchoHttpServer({ maxBodyBytes: limit });
    try {
      const exact = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: INITIALIZE_BODY.padEnd(limit) });
      assert.equal(exact.status, 200);
      const over = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: INITIALIZE_BODY.padEnd(limit + 1) });
      assert.equal(over.status, 413);
    } finally {
      await server.close();
    }
  });

  it('accepts configured extra hosts and origins, and names resources after them', async () => {
    const server = await startEchoHttpServer({ allowedHosts: ['futu.lan'], allowedOrigins: ['https://console.example:8443'] });
    try {
      const origin = new URL(server.url).origin;
      const prm = await rawHttp(`${origin}/.well-known/oauth-protected-resource`, { headers: { host: `futu.lan:${server.port}` } });
      assert.equal(prm.status, 200);
      assert.equal(JSON.parse(prm.body).resource, `http://futu.lan:${server.port}/mcp`);
      assert.equal((await rawHttp(`${origin}/healthz`, { headers: { origin: 'https://console.example' } })).status, 200);
      assert.equal((await rawHttp(`${origin}/healthz`, { headers: { origin: 'https://other.example' } })).status, 403);
    } finally {
      await server.close();
    }
  });

  it('answers /metrics 404 when no metrics source is configured', async () => {
    const server = await startEchoHttpServer();
    try {
      assert.equal((await rawHttp(server.url.replace('/mcp', '/metrics'))).status, 404);
    } finally {
      await server.close();
    }
  });

  it('when bound to all interfaces, accepts the addresses it listens on but not other names', async () => {
    const server = await startEchoHttpServer({ listen: '0.0.0.0:0' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const healthz = server.url.replace('/mcp', '/healthz');
      assert.equal((await rawHttp(healthz)).status, 200);
      assert.equal((await rawHttp(healthz, { headers: { host: `rebind.attacker.example:${server.port}` } })).status, 403);
    } finally {
      await server.close();
    }
  });
});

describe('listen addresses', () => {
  it('parses HOST:PORT, [IPv6]:PORT and :PORT (loopback)', () => {
    assert.deepEqual(parseListen('0.0.0.0:38765'), { host: '0.0.0.0', port: 38765 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseListen(':38765'), { host: '127.0.0.1', port: 38765 });
  });

  it('rejects anything else', () => {
    for (const bad of ['38765', 'localhost', '::1:80', 'host:70000', 'host:port']) {
      assert.throws(() => parseListen(bad), { code: 'invalid_listen_address' }, bad);
    }
  });
});
