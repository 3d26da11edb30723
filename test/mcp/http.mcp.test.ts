import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createMcpServer, type CallHandler } from '../../src/mcp/server.js';
import { startHttpServer } from '../../src/mcp/http.js';
import { READ_TOOL_ANNOTATIONS } from '../../src/mcp/tool.js';
import { FutuError } from '../../src/shared/errors.js';
import { CLIENT_FLAVORS, connectHttp, textOf, waitFor, type McpTestClient } from '../helpers/mcpClients.js';
import { startEchoHttpServer, type EchoHttpServer } from '../fixtures/echo-server.js';

for (const flavor of CLIENT_FLAVORS) {
  describe(`streamable HTTP with the ${flavor} client`, () => {
    let server: EchoHttpServer;
    let alpha: McpTestClient;
    let bravo: McpTestClient;
    before(async () => {
      server = await startEchoHttpServer();
      alpha = await connectHttp(flavor, { url: server.url, token: 'fc_alpha_token' });
      bravo = await connectHttp(flavor, { url: server.url, token: 'fc_bravo_token' });
    });
    after(async () => {
      await Promise.all([alpha.close(), bravo.close()]);
      await server.close();
    });

    it('opens a stateful session on the 2025-11-25 revision', () => {
      assert.match(alpha.sessionId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(alpha.sessionId, bravo.sessionId);
    });

    it('lists the tools with schemas and hints', async () => {
      const tools = await alpha.listTools();
      assert.deepEqual(tools.map((tool) => [tool.name, tool.title, tool.annotations?.readOnlyHint]), [
        ['echo', 'Echo', true],
        ['whoami', 'Who am I', true],
        ['place_order', 'Place order', false],
      ]);
      assert.equal(tools[2]!.inputSchema.additionalProperties, false);
      assert.deepEqual(tools[2]!.outputSchema?.required, ['order_id', 'env']);
    });

    it('answers a call with structured content and text', async () => {
      const result = await alpha.callTool('echo', { text: 'over http' });
      assert.deepEqual(result.structuredContent, { text: 'over http' });
      assert.deepEqual(JSON.parse(textOf(result)), { text: 'over http' });
    });

    it('refuses unknown tools and unknown fields, and reports both refusals with the caller', async () => {
      const unknownTool = await bravo.callTool('futu_withdraw', { amount: 1 });
      assert.equal(unknownTool.isError, true);
      assert.match(textOf(unknownTool), /unknown MCP tool "futu_withdraw"/);
      const unknownField = await bravo.callTool('whoami', { as_key: 'alpha' });
      assert.equal(unknownField.isError, true);
      assert.match(textOf(unknownField), /Unrecognized key: "as_key"/);

      const refusals = server.events.filter((event) => event.kind === 'refused' && event.context.bearerToken === 'fc_bravo_token');
      assert.deepEqual(
        refusals.map((event) => (event.kind === 'refused' ? [event.tool, event.failure.code, event.context.sessionKeyId] : [])),
        [
          ['futu_withdraw', 'UNKNOWN_TOOL', 'bravo'],
          ['whoami', 'INVALID_ARGUMENT', 'bravo'],
        ],
      );
      assert.equal(server.events.some((event) => event.kind === 'call' && event.tool === 'futu_withdraw'), false);
    });

    it('bounds a refusal naming client-chosen fields: a call cannot write megabytes into the error and its audit record', async () => {
      const longName = `x${'y'.repeat(100_000)}`;
      const many = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`field_${i}_${'z'.repeat(50)}`, i]));
      for (const args of [{ [longName]: 1 }, many]) {
        const result = await bravo.callTool('whoami', args);
        assert.equal(result.isError, true);
        assert.match(textOf(result), /^error \(INVALID_ARGUMENT\): invalid arguments for whoami: Unrecognized keys?: "(xy|field_0_)/);
        assert.ok(textOf(result).length < 400, `refusal text is ${textOf(result).length} characters`);
        const refusal = server.events.findLast((event) => event.kind === 'refused');
        assert.ok(refusal?.kind === 'refused' && refusal.failure.message.length < 400);
      }
    });

    it('gives every call the token, key and session of its own request while two keys work at once', async () => {
      const calls = await Promise.all([1, 2, 3].flatMap(() => [alpha.callTool('whoami'), bravo.callTool('whoami')]));
      for (const [index, result] of calls.entries()) {
        const [client, token, keyId] = index % 2 === 0 ? [alpha, 'fc_alpha_token', 'alpha'] : [bravo, 'fc_bravo_token', 'bravo'];
        assert.deepEqual(result.structuredContent, { transport: 'http', bearer_token: token, session_id: client.sessionId, session_key_id: keyId });
      }
    });

    it('aborts the handler signal when the client cancels', async () => {
      const cancel = new AbortController();
      const seen = server.events.length;
      const call = alpha.callTool('echo', { text: 'hold', hold_until_cancelled: true }, { signal: cancel.signal });
      await waitFor('the call to reach the handler', () => server.events.slice(seen).some((event) => event.kind === 'call' && event.tool === 'echo'));
      cancel.abort();
      await assert.rejects(call);
      await waitFor('the handler to see the cancellation', () => server.events.some((event) => event.kind === 'cancelled'));
    });
  });
}

describe('streamable HTTP with a v2 client negotiating automatically', () => {
  it('speaks 2026-07-28 without a session: each call carries its own token and key', async () => {
    const server = await startEchoHttpServer();
    try {
      const client = await connectHttp('v2', { url: server.url, token: 'fc_alpha_token', versionNegotiation: 'auto' });
      assert.equal(client.protocolVersion, '2026-07-28');
      assert.equal(client.sessionId, undefined);
      assert.deepEqual((await client.callTool('echo', { text: 'auto' })).structuredContent, { text: 'auto' });
      assert.deepEqual((await client.callTool('whoami')).structuredContent, { transport: 'http', bearer_token: 'fc_alpha_token', session_key_id: 'alpha' });
      const refused = await client.callTool('nope');
      assert.match(textOf(refused), /unknown MCP tool "nope"/);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a 2026-07-28 request without a valid key (401), as any other', async () => {
    const server = await startEchoHttpServer();
    try {
      server.keys.delete('fc_bravo_token');
      await assert.rejects(connectHttp('v2', { url: server.url, token: 'fc_bravo_token', versionNegotiation: 'auto' }), (err: { status?: number }) => err.status === 401);
    } finally {
      await server.close();
    }
  });
});

describe('call handler outcomes over HTTP', () => {
  const quote = {
    name: 'quote',
    title: 'Quote',
    description: 'A price',
    scope: 'qot:read' as const,
    input: z.strictObject({ mode: z.enum(['ok', 'extra_field', 'bad_result', 'futu_error', 'crash']) }),
    output: z.object({ price: z.number() }),
    annotations: READ_TOOL_ANNOTATIONS,
  };
  const handleCall: CallHandler = async (_tool, args) => {
    switch (args.mode) {
      case 'ok':
        return { structured: { price: 320.5 } };
      case 'extra_field':
        return { structured: { price: 1, internal_conn_id: 'secret-ish' } };
      case 'bad_result':
        return { structured: { price: 'n/a' } };
      case 'futu_error':
        throw new FutuError('gateway_down', 'gateway not connected');
      default:
        throw new Error('socket hang up at 10.0.0.7');
    }
  };
  let running: Awaited<ReturnType<typeof startHttpServer>>;
  let client: McpTestClient;
  before(async () => {
    running = await startHttpServer({
      listen: '127.0.0.1:0',
      createServer: () => createMcpServer({ name: 't', version: '0', tools: [quote], handleCall }),
      authenticate: async () => ({ keyId: 'k', scopes: [] }),
      health: { ready: () => true },
    });
    client = await connectHttp('v2', { url: running.url, token: 'fc_any' });
  });
  after(async () => {
    await client.close();
    await running.close();
  });

  it('bounds a huge unknown tool name in the error', async () => {
    const result = await client.callTool('x'.repeat(5000));
    assert.equal(textOf(result), `error (UNKNOWN_TOOL): unknown MCP tool "${'x'.repeat(128)}…"`);
  });

  it('passes only the fields the output schema names', async () => {
    assert.deepEqual((await client.callTool('quote', { mode: 'ok' })).structuredContent, { price: 320.5 });
    const result = await client.callTool('quote', { mode: 'extra_field' });
    assert.deepEqual(result.structuredContent, { price: 1 });
    assert.doesNotMatch(textOf(result), /internal_conn_id/);
  });

  it('turns a result that breaks the output schema into an error that warns against blind retries', async () => {
    const result = await client.callTool('quote', { mode: 'bad_result' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /quote ran but its result failed validation; it may have taken effect/);
  });

  it('shows a FutuError thrown by the handler with its code and message', async () => {
    const result = await client.callTool('quote', { mode: 'futu_error' });
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'error (gateway_down): gateway not connected');
  });

  it('hides the message of any other exception', async () => {
    const result = await client.callTool('quote', { mode: 'crash' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /^error \(internal_error\): internal error in quote/);
    assert.doesNotMatch(textOf(result), /10\.0\.0\.7/);
  });
});
