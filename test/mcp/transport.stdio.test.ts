import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CLIENT_FLAVORS, connectStdio, textOf, waitFor, type StdioTestClient } from '../helpers/mcpClients.js';

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/echo-server.js', import.meta.url));

for (const flavor of CLIENT_FLAVORS) {
  describe(`stdio transport with the ${flavor} client`, () => {
    let client: StdioTestClient;
    before(async () => {
      client = await connectStdio(flavor, { args: [ECHO_SERVER] });
    });
    after(() => client.close());

    it('lists every tool with title, description, strict input schema, output schema and hints', async () => {
      const tools = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name), ['echo', 'whoami', 'place_order']);
      const echo = tools[0]!;
      assert.equal(echo.title, 'Echo');
      assert.equal(echo.description, 'Returns its text');
      assert.equal(echo.inputSchema.type, 'object');
      assert.equal(echo.inputSchema.additionalProperties, false);
      assert.deepEqual(echo.inputSchema.required, ['text']);
      assert.deepEqual(Object.keys(echo.inputSchema.properties as object), ['text', 'hold_until_cancelled']);
      assert.deepEqual((echo.outputSchema?.properties as Record<string, unknown>).text, { type: 'string' });
      assert.deepEqual(echo.annotations, { readOnlyHint: true });
      assert.deepEqual(tools[2]!.annotations, { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
    });

    it('answers a call with structured content and the same JSON as text', async () => {
      const result = await client.callTool('echo', { text: 'hello' });
      assert.equal(result.isError, undefined);
      assert.deepEqual(result.structuredContent, { text: 'hello' });
      assert.deepEqual(JSON.parse(textOf(result)), { text: 'hello' });
    });

    it('refuses a tool that is not declared, naming it', async () => {
      const result = await client.callTool('futu_transfer_funds', {});
      assert.equal(result.isError, true);
      assert.match(textOf(result), /unknown MCP tool "futu_transfer_funds"/);
      await waitFor('refusal log', () => client.stderr().includes('"tool":"futu_transfer_funds","code":"UNKNOWN_TOOL","msg":"call refused"'));
    });

    it('refuses an unknown argument field instead of dropping it, naming the field', async () => {
      const result = await client.callTool('echo', { text: 'x', api_secret: 'y' });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /Unrecognized key: "api_secret"/);
    });

    it('names the field of a mistyped argument', async () => {
      const result = await client.callTool('place_order', { symbol: 'HK.00700', qty: -5 });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /invalid arguments for place_order: qty: /);
    });

    it('passes a refusal from the call handler through verbatim', async () => {
      const result = await client.callTool('place_order', { symbol: 'HK.00700', qty: 100, env: 'real' });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /missing scope trade:real/);
      assert.match(textOf(result), /scope_denied/);
    });

    it('hands the handler schema defaults and a stdio context without a token', async () => {
      const order = await client.callTool('place_order', { symbol: 'HK.00700', qty: 100 });
      assert.deepEqual(order.structuredContent, { order_id: '1001', env: 'simulate' });
      const whoami = await client.callTool('whoami');
      assert.deepEqual(whoami.structuredContent, { transport: 'stdio' });
    });

    it('aborts the handler signal when the client cancels the call', async () => {
      const cancel = new AbortController();
      const call = client.callTool('echo', { text: 'wait', hold_until_cancelled: true }, { signal: cancel.signal });
      await waitFor('the handler to start holding', () => client.stderr().includes('"msg":"echo holding"'));
      cancel.abort();
      await assert.rejects(call);
      await waitFor('the handler to see the cancellation', () => client.stderr().includes('"msg":"echo cancelled"'));
    });
  });
}

interface RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  send(message: object): void;
  /** Writes `text` to stdin as it is (one line or several, valid JSON or not). */
  sendRaw(text: string): void;
  /** Every frame written to stdout so far. */
  frames(): Record<string, unknown>[];
  /** The response to request `id`, once it arrived. */
  response(id: number): Promise<Record<string, unknown>>;
}

function spawnRaw(): RawServer {
  const child = spawn(process.execPath, [ECHO_SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const frames = () => stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    send: (message) => child.stdin.write(JSON.stringify(message) + '\n'),
    sendRaw: (text) => child.stdin.write(text),
    frames,
    response: (id) =>
      waitFor(`response ${id}`, () => (stdout.endsWith('\n') ? frames().find((frame) => frame.id === id) : undefined)).catch((err: Error) => {
        throw new Error(`${err.message}; stdout: ${stdout}; stderr: ${stderr}; exit: ${child.exitCode}`);
      }),
  };
}

async function initialize(server: RawServer, protocolVersion = '2025-11-25'): Promise<Record<string, unknown>> {
  server.send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  });
  const response = await server.response(1);
  server.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return response.result as Record<string, unknown>;
}

describe('stdio answers what is not one JSON-RPC message instead of leaving the client waiting', () => {
  it('text that is not JSON gets -32700, JSON that is not a message -32600 (with its id), a batch an array of -32600 under its requests\' ids; the session goes on', async () => {
    const server = spawnRaw();
    try {
      await initialize(server);
      server.sendRaw('{"jsonrpc": "2.0", "id": 5, "method": \n');
      server.sendRaw('{"jsonrpc":"2.0","id":6,"params":{}}\n');
      server.sendRaw('{"id":7,"method":"tools/list"}\r\n');
      server.sendRaw(JSON.stringify([{ jsonrpc: '2.0', id: 8, method: 'tools/list' }, { jsonrpc: '2.0', id: 9, method: 'ping' }]) + '\n');
      // A notification gets no answer, in a batch too; an element that is no message gets one without an id.
      server.sendRaw(JSON.stringify([{ jsonrpc: '2.0', method: 'notifications/progress', params: {} }, 42, { jsonrpc: '2.0', id: 'b', method: 'ping' }]) + '\n');
      server.sendRaw(JSON.stringify([{ jsonrpc: '2.0', method: 'notifications/progress', params: {} }]) + '\n');
      server.sendRaw('[]\n\n');
      // Split across writes, as a pipe may deliver it.
      server.sendRaw('{"jsonrpc":"2.0","id":10,');
      server.sendRaw('"method":"tools/list"}\n');
      const listed = await server.response(10);
      assert.ok(Array.isArray((listed.result as { tools: unknown[] }).tools));

      const single = server.frames().filter((frame) => !Array.isArray(frame) && frame.error !== undefined);
      assert.deepEqual(
        single.map((frame) => [frame.id, (frame.error as { code: number }).code]),
        [[null, -32700], [6, -32600], [7, -32600], [null, -32600]],
      );
      assert.match(String((single[0]!.error as { message: string }).message), /^Parse error: /);
      assert.match(String((single[3]!.error as { message: string }).message), /empty JSON-RPC batch/);
      // Each batch with a request in it is answered by one array, one error per request under its id.
      const refused = { code: -32600, message: 'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send each message on a line of its own' };
      assert.deepEqual(
        server.frames().filter((frame) => Array.isArray(frame)),
        [
          [{ jsonrpc: '2.0', id: 8, error: refused }, { jsonrpc: '2.0', id: 9, error: refused }],
          [{ jsonrpc: '2.0', id: null, error: refused }, { jsonrpc: '2.0', id: 'b', error: refused }],
        ],
      );
      // Nothing was answered twice (the batches' requests never reached the server), and nothing but JSON-RPC reached stdout.
      assert.equal(server.frames().filter((frame) => !Array.isArray(frame) && [8, 9, 'b'].includes(frame.id as number)).length, 0);
      for (const frame of server.frames().flat()) assert.equal(frame.jsonrpc, '2.0');
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
  });
});

describe('sessions of revisions before 2025-06-18 get none of its fields', () => {
  for (const revision of ['2024-11-05', '2025-03-26']) {
    it(`${revision}: tools/list has no title or outputSchema, tools/call no structuredContent (the text carries the result)`, async () => {
      const server = spawnRaw();
      try {
        const init = await initialize(server, revision);
        assert.equal(init.protocolVersion, revision);
        server.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        const tools = ((await server.response(2)).result as { tools: Record<string, unknown>[] }).tools;
        assert.deepEqual(tools.map((tool) => tool.name), ['echo', 'whoami', 'place_order']);
        for (const tool of tools) {
          assert.deepEqual(Object.keys(tool).sort(), ['annotations', 'description', 'inputSchema', 'name'], String(tool.name));
        }
        server.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'old' } } });
        const result = (await server.response(3)).result as Record<string, unknown>;
        assert.equal('structuredContent' in result, false);
        assert.deepEqual(JSON.parse((result.content as Array<{ text: string }>)[0]!.text), { text: 'old' });
      } finally {
        server.child.kill('SIGTERM');
        await once(server.child, 'exit');
      }
    });
  }

  it('2025-06-18: the same session shape keeps title, outputSchema and structuredContent', async () => {
    const server = spawnRaw();
    try {
      assert.equal((await initialize(server, '2025-06-18')).protocolVersion, '2025-06-18');
      server.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const echo = ((await server.response(2)).result as { tools: Record<string, unknown>[] }).tools[0]!;
      assert.equal(echo.title, 'Echo');
      assert.ok(echo.outputSchema);
      server.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: 'new' } } });
      assert.deepEqual(((await server.response(3)).result as Record<string, unknown>).structuredContent, { text: 'new' });
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
  });
});

describe('stdio process discipline', () => {
  it('writes only JSON-RPC frames to stdout while the handler logs and console.logs', async () => {
    const server = spawnRaw();
    await initialize(server);
    server.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'frame-check' } } });
    const response = await server.response(2);
    assert.deepEqual((response.result as Record<string, unknown>).structuredContent, { text: 'frame-check' });
    server.child.stdin.end();
    await once(server.child, 'exit');

    const lines = server.stdout().split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, '2.0');
    assert.match(server.stderr(), /"text":"frame-check","msg":"echo called"/);
    assert.match(server.stderr(), /console\.log during echo: frame-check/);
  });

  it('shuts down cleanly when stdin ends', async () => {
    const server = spawnRaw();
    await initialize(server);
    server.child.stdin.end();
    const [code, signal] = (await once(server.child, 'exit')) as [number | null, string | null];
    assert.deepEqual([code, signal], [0, null]);
    assert.match(server.stderr(), /"msg":"stdio connection closed"[^\n]*\n[^\n]*"msg":"echo fixture stopped"/);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const server = spawnRaw();
    await initialize(server);
    server.child.kill('SIGTERM');
    const [code, signal] = (await once(server.child, 'exit')) as [number | null, string | null];
    assert.deepEqual([code, signal], [0, null]);
    assert.match(server.stderr(), /"signal":"SIGTERM","msg":"stdio server stopping"/);
    assert.match(server.stderr(), /"msg":"echo fixture stopped"/);
  });

  it('serves a v2 client that negotiates the 2026-07-28 revision', async () => {
    const client = await connectStdio('v2', { args: [ECHO_SERVER], versionNegotiation: 'auto' });
    try {
      assert.equal(client.protocolVersion, '2026-07-28');
      const result = await client.callTool('nope');
      assert.match(textOf(result), /unknown MCP tool "nope"/);
      assert.deepEqual((await client.callTool('echo', { text: 'modern' })).structuredContent, { text: 'modern' });
    } finally {
      await client.close();
    }
  });
});
