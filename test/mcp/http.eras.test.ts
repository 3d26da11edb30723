/**
 * Era routing on /mcp: which POSTs go to the 2025 sessions and which to the 2026-07-28 handler.
 * The route must agree with the SDK's isLegacyRequest on every kind of request, and requests the
 * modern path owns (a modern header without the envelope, an unknown revision) get its answers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { isLegacyRequest } from '@modelcontextprotocol/server';
import { isLegacyPost } from '../../src/mcp/http.js';
import { startEchoHttpServer } from '../fixtures/echo-server.js';
import { mcpPostHeaders, rawHttp } from '../helpers/mcpClients.js';

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 't', version: '0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const call = (meta?: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, ...(meta && { _meta: meta }) } });

const CASES: ReadonlyArray<{ what: string; headers: Record<string, string | string[]>; body: unknown; legacy: boolean }> = [
  { what: 'initialize', headers: {}, body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '0' } } }, legacy: true },
  { what: 'a 2025 tools/call', headers: { 'mcp-protocol-version': '2025-11-25' }, body: call(), legacy: true },
  { what: 'a 2025 notification', headers: { 'mcp-protocol-version': '2025-06-18' }, body: { jsonrpc: '2.0', method: 'notifications/initialized' }, legacy: true },
  { what: 'a response posted back', headers: {}, body: { jsonrpc: '2.0', id: 3, result: {} }, legacy: true },
  { what: 'a 2026-07-28 tools/call', headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, body: call(MODERN_META), legacy: false },
  { what: 'an envelope without headers', headers: {}, body: call(MODERN_META), legacy: false },
  { what: 'a modern header without the envelope', headers: { 'mcp-protocol-version': '2026-07-28' }, body: call(), legacy: false },
  { what: 'an envelope naming an unknown revision', headers: {}, body: call({ ...MODERN_META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }), legacy: false },
  { what: 'a repeated header', headers: { 'mcp-protocol-version': ['2026-07-28', '2026-07-28'] }, body: call(MODERN_META), legacy: false },
];

describe('era routing of POST /mcp', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.legacy ? '2025 sessions' : '2026-07-28 handler'}, as the SDK's isLegacyRequest says`, async () => {
      const headers = new Headers({ 'content-type': 'application/json' });
      for (const [name, value] of Object.entries(c.headers)) for (const v of [value].flat()) headers.append(name, v);
      const request = new Request('http://127.0.0.1/mcp', { method: 'POST', headers, body: JSON.stringify(c.body) });
      assert.equal(await isLegacyRequest(request), c.legacy, 'the SDK');
      assert.equal(isLegacyPost({ headers: c.headers } as unknown as IncomingMessage, c.body), c.legacy, 'the route');
    });
  }

  it('answers what the 2026-07-28 path owns with its errors, after authentication', async () => {
    const server = await startEchoHttpServer();
    try {
      const post = (headers: Record<string, string>, body: unknown, token = 'fc_alpha_token') =>
        rawHttp(server.url, {
          method: 'POST',
          headers: { host: new URL(server.url).host, authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body: JSON.stringify(body),
        });
      const unknownRevision = await post({}, call({ ...MODERN_META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }));
      assert.equal(unknownRevision.status, 400);
      assert.match(unknownRevision.body, /2026-07-28/);
      const noEnvelope = await post({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, call());
      assert.equal(noEnvelope.status, 400);
      assert.equal((JSON.parse(noEnvelope.body) as { error: { code: number } }).error.code, -32602);
      const keyless = await post({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, call(MODERN_META), 'fc_unknown');
      assert.equal(keyless.status, 401);
      const served = await post({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, call(MODERN_META));
      assert.equal(served.status, 200);
      assert.equal(served.headers['mcp-session-id'], undefined);
      assert.deepEqual((JSON.parse(served.body) as { result: { structuredContent: unknown } }).result.structuredContent, { text: 'x' });
      assert.equal(server.events.filter((e) => e.kind === 'call').length, 1, 'only the served request reached the handler');
    } finally {
      await server.close();
    }
  });
});

describe('HTTP sessions of revisions before 2025-06-18 get none of its fields', () => {
  /** The JSON-RPC message of a response sent as JSON or as one SSE event. */
  const messageOf = (body: string): Record<string, any> => JSON.parse(/^data: (.*)$/m.exec(body)?.[1] ?? body);

  for (const revision of ['2024-11-05', '2025-03-26', '2025-06-18']) {
    const gated = revision !== '2025-06-18';
    it(`${revision}: tools/list ${gated ? 'without' : 'with'} title and outputSchema, tools/call ${gated ? 'without' : 'with'} structuredContent`, async () => {
      const server = await startEchoHttpServer();
      try {
        const post = (body: unknown, sessionId?: string) =>
          rawHttp(server.url, {
            method: 'POST',
            headers: {
              ...mcpPostHeaders('fc_alpha_token'),
              ...(sessionId !== undefined && { 'mcp-session-id': sessionId, 'mcp-protocol-version': revision }),
            },
            body: JSON.stringify(body),
          });
        const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: revision, capabilities: {}, clientInfo: { name: 'old', version: '0' } } });
        assert.equal(messageOf(init.body).result.protocolVersion, revision);
        const sessionId = String(init.headers['mcp-session-id']);
        await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
        const tools = messageOf((await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, sessionId)).body).result.tools as Record<string, unknown>[];
        const echo = tools.find((tool) => tool.name === 'echo')!;
        assert.equal('title' in echo, !gated);
        assert.equal('outputSchema' in echo, !gated);
        const result = messageOf((await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'old' } } }, sessionId)).body).result;
        assert.equal('structuredContent' in result, !gated);
        assert.deepEqual(JSON.parse(result.content[0].text), { text: 'old' });
      } finally {
        await server.close();
      }
    });
  }
});
