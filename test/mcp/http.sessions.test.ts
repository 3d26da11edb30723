import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setLogSink } from '../../src/shared/log.js';
import { connectHttp, INITIALIZE_BODY, mcpPostHeaders, rawHttp, toolCallBody, waitFor, type McpTestClient, type RawResponse } from '../helpers/mcpClients.js';
import { startEchoHttpServer, type EchoHttpServer } from '../fixtures/echo-server.js';

const logLines: string[] = [];
setLogSink((line) => logLines.push(line));

function openSession(server: EchoHttpServer, token: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawHttp(server.url, { method: 'POST', headers: { ...mcpPostHeaders(token), ...headers }, body: INITIALIZE_BODY });
}

function sessionOf(res: RawResponse): string {
  const id = res.headers['mcp-session-id'];
  assert.equal(typeof id, 'string', `no session in ${res.status} ${res.body}`);
  return id as string;
}

describe('HTTP sessions are bound to the key that opened them', () => {
  let server: EchoHttpServer;
  let alpha: McpTestClient;
  before(async () => {
    server = await startEchoHttpServer();
    alpha = await connectHttp('v2', { url: server.url, token: 'fc_alpha_token' });
  });
  after(async () => {
    await alpha.close();
    await server.close();
  });

  it("refuses another key's POST on the session before any tool runs", async () => {
    const callsBefore = server.events.length;
    const res = await rawHttp(server.url, {
      method: 'POST',
      headers: mcpPostHeaders('fc_bravo_token', alpha.sessionId),
      body: toolCallBody('place_order', { symbol: 'HK.00700', qty: 100 }),
    });
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.body).error.message, /opened with a different API key/);
    assert.equal(server.events.length, callsBefore);
    assert.ok(logLines.some((line) => line.includes('"msg":"mcp session presented with another key"') && line.includes('"key_id":"bravo"')));
  });

  it("refuses another key's GET stream and DELETE, and the owner keeps working", async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await rawHttp(server.url, {
        method,
        headers: { authorization: 'Bearer fc_bravo_token', accept: 'text/event-stream', 'mcp-session-id': alpha.sessionId ?? '' },
      });
      assert.equal(res.status, 403, method);
    }
    assert.equal((await alpha.callTool('whoami')).structuredContent?.session_key_id, 'alpha');
  });

  it('answers an unknown session id 404 and a missing one 400', async () => {
    const unknown = await rawHttp(server.url, {
      method: 'POST',
      headers: mcpPostHeaders('fc_alpha_token', '3b241101-e2bb-4255-8caf-4136c566a962'),
      body: toolCallBody('whoami'),
    });
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).error.code, -32001);

    const missing = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token'), body: toolCallBody('whoami') });
    assert.equal(missing.status, 400);
    assert.match(JSON.parse(missing.body).error.message, /Mcp-Session-Id header is required/);

    const getWithout = await rawHttp(server.url, { headers: { authorization: 'Bearer fc_alpha_token', accept: 'text/event-stream' } });
    assert.equal(getWithout.status, 400);
  });

  it('ends the session on DELETE', async () => {
    const client = await connectHttp('v1', { url: server.url, token: 'fc_bravo_token' });
    const sessionId = client.sessionId;
    await client.terminateSession();
    await client.close();
    const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_bravo_token', sessionId), body: toolCallBody('whoami') });
    assert.equal(res.status, 404);
    assert.ok(logLines.some((line) => line.includes('"msg":"mcp session closed"') && line.includes(sessionId ?? '?')));
  });
});

describe('HTTP session limits', () => {
  it("closes a key's oldest idle session for its new one at the key's cap, and refuses only when all are busy", async () => {
    const server = await startEchoHttpServer({ sessionLimits: { maxSessionsPerKey: 2 } });
    const calls: Promise<unknown>[] = [];
    try {
      const first = sessionOf(await openSession(server, 'fc_alpha_token'));
      const second = sessionOf(await openSession(server, 'fc_alpha_token'));
      const third = sessionOf(await openSession(server, 'fc_alpha_token'));
      assert.ok(logLines.some((line) => line.includes(`"session":"${first}","reason":"evicted: key at its session cap"`)));
      const gone = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token', first), body: toolCallBody('whoami') });
      assert.equal(gone.status, 404);
      sessionOf(await openSession(server, 'fc_bravo_token'));

      // Both remaining sessions busy: nothing may be closed under a running call.
      for (const held of [second, third]) {
        calls.push(
          rawHttp(server.url, {
            method: 'POST',
            headers: mcpPostHeaders('fc_alpha_token', held),
            body: toolCallBody('echo', { text: 'long', hold_until_cancelled: true }),
          }).catch(() => undefined),
        );
      }
      await waitFor('both calls to start', () => server.events.filter((event) => event.kind === 'call').length >= 2);
      const refused = await openSession(server, 'fc_alpha_token');
      assert.equal(refused.status, 429);
      assert.match(JSON.parse(refused.body).error.message, /already has 2 open sessions, all busy/);
    } finally {
      await server.close();
      await Promise.all(calls);
    }
  });

  it('a key hoarding sessions cannot lock out another key', async () => {
    // Two hoarders fill the server; a third key still gets in, at the larger hoarder's expense.
    const server = await startEchoHttpServer({ sessionLimits: { maxSessions: 5, maxSessionsPerKey: 3 } });
    try {
      const alpha: string[] = [];
      for (let i = 0; i < 6; i++) alpha.push(sessionOf(await openSession(server, 'fc_alpha_token')));
      const bravo = [sessionOf(await openSession(server, 'fc_bravo_token')), sessionOf(await openSession(server, 'fc_bravo_token'))];
      const charlie = sessionOf(await openSession(server, 'fc_charlie_token'));
      const whoami = async (token: string, id: string) =>
        (await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders(token, id), body: toolCallBody('whoami') })).status;
      assert.equal(await whoami('fc_charlie_token', charlie), 200);
      // alpha kept its three newest minus the one that made way for charlie; bravo kept both.
      assert.deepEqual(await Promise.all(alpha.map((id) => whoami('fc_alpha_token', id))), [404, 404, 404, 404, 200, 200]);
      assert.deepEqual(await Promise.all(bravo.map((id) => whoami('fc_bravo_token', id))), [200, 200]);
      assert.ok(logLines.some((line) => line.includes(`"session":"${alpha[3]}","reason":"evicted: server at its session cap"`)));
    } finally {
      await server.close();
    }
  });

  it('caps the sessions of all keys together', async () => {
    const server = await startEchoHttpServer({ sessionLimits: { maxSessions: 2 } });
    try {
      sessionOf(await openSession(server, 'fc_alpha_token'));
      sessionOf(await openSession(server, 'fc_bravo_token'));
      const res = await openSession(server, 'fc_bravo_token');
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '60');
    } finally {
      await server.close();
    }
  });

  it('does not count an initialize the transport refused', async () => {
    const server = await startEchoHttpServer({ sessionLimits: { maxSessionsPerKey: 1 } });
    try {
      const refused = await openSession(server, 'fc_alpha_token', { accept: 'application/json' });
      assert.equal(refused.status, 406);
      sessionOf(await openSession(server, 'fc_alpha_token'));
    } finally {
      await server.close();
    }
  });

  it('closes a session left idle', async () => {
    const server = await startEchoHttpServer({ sessionLimits: { idleMs: 50 } });
    try {
      const sessionId = sessionOf(await openSession(server, 'fc_alpha_token'));
      await waitFor('idle expiry', () => logLines.some((line) => line.includes(`"session":"${sessionId}","reason":"idle"`)));
      const res = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token', sessionId), body: toolCallBody('whoami') });
      assert.equal(res.status, 404);
    } finally {
      await server.close();
    }
  });

  it('closes a session that never made a tool call sooner than one that did', async () => {
    const server = await startEchoHttpServer({ sessionLimits: { idleMs: 60_000, unusedIdleMs: 50 } });
    try {
      const unused = sessionOf(await openSession(server, 'fc_alpha_token'));
      const used = sessionOf(await openSession(server, 'fc_alpha_token'));
      const call = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token', used), body: toolCallBody('whoami') });
      assert.equal(call.status, 200);
      await waitFor('the unused session to expire', () => logLines.some((line) => line.includes(`"session":"${unused}","reason":"idle"`)));
      assert.equal(logLines.some((line) => line.includes(`"session":"${used}","reason":"idle"`)), false);
      const again = await rawHttp(server.url, { method: 'POST', headers: mcpPostHeaders('fc_alpha_token', used), body: toolCallBody('whoami') });
      assert.equal(again.status, 200);
    } finally {
      await server.close();
    }
  });

  it('keeps a session with a call in flight past the idle limit', async () => {
    // Long enough that the session cannot expire between its initialize and the held call.
    const server = await startEchoHttpServer({ sessionLimits: { idleMs: 1500 } });
    const held = sessionOf(await openSession(server, 'fc_alpha_token'));
    const call = rawHttp(server.url, {
      method: 'POST',
      headers: mcpPostHeaders('fc_alpha_token', held),
      body: toolCallBody('echo', { text: 'long', hold_until_cancelled: true }),
    }).catch(() => undefined);
    try {
      await waitFor('the call to start', () => server.events.some((event) => event.kind === 'call'));
      // Another session expiring proves the sweeper ran while the call was held.
      const other = sessionOf(await openSession(server, 'fc_bravo_token'));
      await waitFor('the other session to expire', () => logLines.some((line) => line.includes(`"session":"${other}","reason":"idle"`)));
      assert.equal(logLines.some((line) => line.includes(`"session":"${held}","reason":"idle"`)), false);
    } finally {
      await server.close();
      await call;
    }
  });
});

describe('HTTP server shutdown', () => {
  it('ends open sessions and the listener', async () => {
    const server = await startEchoHttpServer();
    const client = await connectHttp('v2', { url: server.url, token: 'fc_alpha_token' });
    await client.callTool('whoami');
    await server.close();
    assert.ok(logLines.some((line) => line.includes(`"session":"${client.sessionId}","reason":"server closing"`)));
    await assert.rejects(rawHttp(server.url.replace('/mcp', '/healthz')), /ECONNREFUSED/);
    await client.close();
  });
});
