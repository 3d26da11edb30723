/**
 * Both protocol eras on one server, over real HTTP sockets and real stdio pipes, with the SDK's
 * own clients: the v2 client negotiating 2026-07-28 (versionNegotiation 'auto'), the v2 client in
 * its default 2025-11-25 mode and the v1 client. The same tools, pipeline, Cedar and audit serve
 * both: a read, a refused call and a simulate order each era. 2026-07-28 requests open no session
 * and are authenticated one by one (a revoked key is refused at its next request); tools/list
 * carries private cache hints; confirmation runs in input_required rounds whose sealed state a
 * client cannot alter, replay, lend to another key or reuse for other arguments, and any server
 * sharing the state dir can take the retry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { updateKeysFile } from '../../src/keys/file.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { rawHttp, type RawResponse } from '../helpers/mcpClients.js';
import {
  ALL_SCOPES,
  E2E_SIM_CLOCK,
  E2eRun,
  expectRefusal,
  FUTU_MCP,
  ORDER,
  READ,
  readAudit,
  SIM,
  TRADE_PWD,
  tradeOk,
  type ClientFlavor,
  type HttpServerProcess,
  type McpTestClient,
  type ToolCallResult,
  waitFor,
} from './helpers.js';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';

/** How a test client negotiates, and the revision it must end up speaking. */
const ERAS: ReadonlyArray<{ readonly flavor: ClientFlavor; readonly negotiation?: 'auto'; readonly revision: string; readonly label: string }> = [
  { flavor: 'v2', negotiation: 'auto', revision: MODERN, label: 'v2 client, 2026-07-28' },
  { flavor: 'v2', revision: LEGACY, label: 'v2 client, 2025-11-25' },
  { flavor: 'v1', revision: LEGACY, label: 'v1 client, 2025-11-25' },
];

function errorOf(result: ToolCallResult): { code: string; message: string } {
  assert.equal(result.isError, true, `expected an error, got ${JSON.stringify(result.structuredContent)}`);
  const match = /^error \(([A-Z_]+)\): ([\s\S]*)$/.exec(String(result.content[0]?.text));
  assert.ok(match, String(result.content[0]?.text));
  return { code: match[1]!, message: match[2]! };
}

/** What a 2026-07-28 client puts in every request's _meta. */
function envelope(capabilities: Record<string, unknown> = { elicitation: { form: {} } }): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-modern', version: '0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

interface RpcAnswer {
  readonly http: RawResponse;
  readonly result?: Record<string, unknown> & { resultType?: string; requestState?: string; inputRequests?: Record<string, { params?: { message?: string } }> };
  readonly error?: { code: number; message: string };
}

let nextId = 1;

/** One 2026-07-28 request on the wire, as a client sends it: no initialize, no session. */
async function modernRequest(url: string, token: string, method: string, params: Record<string, unknown> = {}, capabilities?: Record<string, unknown>): Promise<RpcAnswer> {
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  const http = await rawHttp(url, {
    method: 'POST',
    headers: {
      host: new URL(url).host,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...name,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: envelope(capabilities) } }),
  });
  if (http.status !== 200) return { http };
  const body = JSON.parse(http.body) as { result?: RpcAnswer['result']; error?: RpcAnswer['error'] };
  return { http, ...body };
}

/** A tools/call result's text, as the model reads it. */
function toolText(answer: RpcAnswer): string {
  return String((answer.result?.content as Array<{ text?: string }> | undefined)?.[0]?.text);
}

const accept = { confirm: { action: 'accept', content: { confirm: true } } };

describe('both protocol eras on one endpoint, with real clients', () => {
  const run = new E2eRun('eras');
  let sim: SimulatorHandle;
  let a: HttpServerProcess;
  let b: HttpServerProcess;
  let keys: Record<string, string>;
  let keysFile: string;
  const stateDir = () => run.path('shared.state');
  let ordersAt: (price: number) => Promise<number>;

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'trader', scopes: SIM },
      { id: 'full', scopes: ALL_SCOPES },
      { id: 'careful', scopes: SIM, flags: ['--require-confirmation', 'always'] },
      { id: 'wary', scopes: SIM, flags: ['--require-confirmation', 'always'] },
      { id: 'doomed', scopes: READ },
      { id: 'growing', scopes: READ },
    ]);
    const extraArgs = ['--state-dir', stateDir()];
    a = await run.startHttp({ name: 'a', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs });
    b = await run.startHttp({ name: 'b', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs });
    const reader = await run.connectHttp('v2', a.url, keys.trader!);
    ordersAt = async (price) => {
      const listed = (await reader.callTool('futu_get_orders', { env: 'simulate', market: 'HK' })).structuredContent as { orders: Array<{ price?: number }> };
      return listed.orders.filter((o) => o.price === price).length;
    };
  });
  after(async () => {
    await run.assertCleanFinish();
    await run.dispose();
    await sim.close();
  });

  /** A read, a refused call and a simulate order: the same answers and records in every era. */
  async function exercise(client: McpTestClient, auditLog: string, price: number, sessionId: string | null): Promise<void> {
    const quote = await client.callTool('futu_get_quote', { symbols: ['HK.00700'] });
    assert.notEqual(quote.isError, true, JSON.stringify(quote.content));
    assert.equal((quote.structuredContent as { quotes: Array<{ symbol: string }> }).quotes[0]!.symbol, 'HK.00700');
    const refused = await expectRefusal(client, { auditLog }, {
      tool: 'futu_place_order',
      args: { ...ORDER, env: 'real' },
      code: 'MISSING_SCOPE',
      message: 'missing scope trade:real',
      keyId: 'trader',
      scope: 'trade:real',
    });
    assert.equal(refused.session_id, sessionId);
    const placed = await tradeOk(client, 'futu_place_order', { ...ORDER, price });
    assert.equal(placed.env, 'simulate');
    assert.equal(await ordersAt(price), 1);
  }

  for (const [index, era] of ERAS.entries()) {
    it(`HTTP, ${era.label}: tools, a read, a refused call and a simulate order`, async () => {
      const client = await run.connectHttp(era.flavor, a.url, keys.trader!, era.negotiation);
      assert.equal(client.protocolVersion, era.revision);
      assert.equal(client.sessionId === undefined, era.revision === MODERN, 'a session exactly for the 2025 era');
      const names = (await client.listTools()).map((t) => t.name);
      assert.ok(names.includes('futu_place_order') && !names.includes('futu_unlock_trade'), names.join());
      await exercise(client, a.auditLog, 280 + index, client.sessionId ?? null);
    });

    it(`stdio, ${era.label}: tools, a read, a refused call and a simulate order`, async () => {
      const client = await run.connectStdio(era.flavor, {
        name: `stdio-${index}`,
        keysFile,
        gateway: `127.0.0.1:${sim.port}`,
        apiKey: keys.trader!,
        extraArgs: ['--state-dir', stateDir()],
        ...(era.negotiation && { versionNegotiation: era.negotiation }),
      });
      if (era.flavor === 'v2') assert.equal(client.protocolVersion, era.revision);
      const names = (await client.listTools()).map((t) => t.name);
      assert.ok(names.includes('futu_place_order') && !names.includes('futu_unlock_trade'), names.join());
      await exercise(client, client.auditLog, 290 + index, null);
      await client.close();
    });
  }

  it('2026-07-28: one tool declaration for both eras; tools/list is private to the key and cacheable, within budget; discover says what is served', async () => {
    const legacy = await run.connectHttp('v2', a.url, keys.full!);
    const modern = await run.connectHttp('v2', a.url, keys.full!, 'auto');
    const legacyTools = await legacy.listTools();
    assert.deepEqual(await modern.listTools(), legacyTools);
    assert.equal(legacyTools.length, TOOLS.length, 'the full key sees every tool');

    const listed = await modernRequest(a.url, keys.full!, 'tools/list');
    assert.equal(listed.http.status, 200);
    assert.equal(listed.http.headers['mcp-session-id'], undefined);
    const { tools, ttlMs, cacheScope } = listed.result as { tools: unknown[]; ttlMs: number; cacheScope: string };
    assert.deepEqual({ ttlMs, cacheScope }, { ttlMs: 60_000, cacheScope: 'private' });
    assert.equal(tools.length, TOOLS.length);
    const perTool = JSON.stringify({ tools }).length / tools.length;
    assert.ok(perTool <= 1500, `tools/list costs ${Math.round(perTool)} chars per tool`);
    // Another key, another list.
    const readerList = await modernRequest(a.url, keys.doomed!, 'tools/list');
    assert.ok((readerList.result!.tools as unknown[]).length < TOOLS.length);

    const discovered = await modernRequest(a.url, keys.full!, 'server/discover');
    assert.deepEqual(discovered.result!.supportedVersions, [MODERN]);
    assert.deepEqual(discovered.result!.capabilities, { tools: { listChanged: true }, resources: { subscribe: true } });
    assert.match(String(discovered.result!.instructions), /^Futu OpenD market data/);
    assert.equal(discovered.result!.cacheScope, 'private');
  });

  it('2026-07-28: a reload that changes the key\'s tools reaches a listening client (subscriptions/listen), whose list then shows them', async () => {
    const changes: string[][] = [];
    const client = new V2Client(
      { name: 'modern-listening', version: '0' },
      { versionNegotiation: { mode: 'auto' }, listChanged: { tools: { debounceMs: 0, onChanged: (_error, tools) => void changes.push((tools ?? []).map((t) => t.name)) } } },
    );
    await client.connect(new V2HttpTransport(new URL(a.url), { requestInit: { headers: { Authorization: `Bearer ${keys.growing!}` } } }));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'futu_place_order'));
      updateKeysFile(keysFile, (records) => records.map((r) => (r.id === 'growing' ? { ...r, scopes: SIM as KeyRecord['scopes'] } : r)));
      await a.hup();
      await waitFor('the changed tool list', () => changes.some((names) => names.includes('futu_place_order')));
    } finally {
      await client.close();
    }
  });

  it('2026-07-28 requests open no session and are authenticated one by one: a revoked key is refused (401) at its next request', async () => {
    const opened = () => a.stderr().split('\n').filter((l) => l.includes('"msg":"mcp session opened"')).length;
    const before = opened();
    const client = await run.connectHttp('v2', a.url, keys.doomed!, 'auto');
    for (let i = 0; i < 5; i += 1) assert.notEqual((await client.callTool('futu_get_quote', { symbols: ['HK.00700'] })).isError, true);
    assert.equal(client.sessionId, undefined);
    assert.equal(opened(), before, 'no session was opened for 2026-07-28 requests');
    const get = await rawHttp(a.url, { headers: { host: new URL(a.url).host, authorization: `Bearer ${keys.doomed!}`, accept: 'text/event-stream' } });
    assert.equal(get.status, 400, 'and there is none to stream from');

    await run.revokeKey(keysFile, 'doomed');
    await a.hup();
    const refused = await modernRequest(a.url, keys.doomed!, 'tools/call', { name: 'futu_get_quote', arguments: { symbols: ['HK.00700'] } });
    assert.equal(refused.http.status, 401);
    assert.match(String(refused.http.headers['www-authenticate']), /^Bearer error="invalid_token", error_description="key revoked"/);
    await assert.rejects(client.callTool('futu_get_quote', { symbols: ['HK.00700'] }), (err: { status?: number; message: string }) => {
      assert.equal(err.status, 401);
      assert.match(err.message, /key revoked/);
      return true;
    });
    assert.ok(readAudit(a.auditLog).some((r) => r.event === 'http_auth' && r.key_id === 'doomed' && r.code === 'KEY_REVOKED'));
  });

  it('2026-07-28 confirmation with the v2 client: the form in an input_required result; accept places the order, decline sends nothing', async () => {
    let reply: { action: 'accept' | 'decline'; content?: Record<string, boolean> } = { action: 'accept', content: { confirm: true } };
    const shown: string[] = [];
    const client = new V2Client({ name: 'modern-confirming', version: '0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler('elicitation/create', async (request) => {
      shown.push(String((request.params as { message?: unknown }).message));
      return reply;
    });
    await client.connect(new V2HttpTransport(new URL(a.url), { requestInit: { headers: { Authorization: `Bearer ${keys.careful!}` } } }));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const seq = readAudit(a.auditLog).at(-1)!.seq;
      const placed = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 301 } })) as ToolCallResult;
      assert.notEqual(placed.isError, true, JSON.stringify(placed.content));
      assert.match(shown[0]!, /^Key careful wants to: BUY 100 HK\.00700 @ 301 HKD \(LIMIT\) in simulate account \d+\nValue: HKD 30,100\.00\nAsked by policy: a human must confirm this order/);
      assert.equal(await ordersAt(301), 1);

      reply = { action: 'decline' };
      assert.equal(errorOf((await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 302 } })) as ToolCallResult).code, 'CONFIRMATION_DECLINED');
      reply = { action: 'accept', content: { confirm: false } };
      assert.equal(errorOf((await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 302 } })) as ToolCallResult).code, 'CONFIRMATION_DECLINED');
      assert.equal(await ordersAt(302), 0, 'nothing was sent');

      const records = readAudit(a.auditLog).filter((r) => r.seq > seq && r.key_id === 'careful');
      const steps = records.filter((r) => r.event === 'confirmation').map((r) => `${r.kind}/${r.channel}`);
      assert.deepEqual(steps, ['requested/elicitation', 'accepted/elicitation', 'used/elicitation', 'requested/elicitation', 'declined/elicitation', 'requested/elicitation', 'declined/elicitation']);
      const calls = records.filter((r) => r.event === 'tool_call').map((r) => `${r.outcome}/${String(r.code)}/${String(r.session_id)}`);
      assert.deepEqual(calls, [
        'reject/CONFIRMATION_REQUIRED/null',
        'success/null/null',
        'reject/CONFIRMATION_REQUIRED/null',
        'reject/CONFIRMATION_DECLINED/null',
        'reject/CONFIRMATION_REQUIRED/null',
        'reject/CONFIRMATION_DECLINED/null',
      ]);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28 confirmation state: tampered, replayed, another key\'s or for other arguments is refused; the retry may land on another server', async () => {
    const order = { ...ORDER, price: 306 };
    const call = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name: 'futu_place_order', arguments: args, ...extra });
    const first = await modernRequest(a.url, keys.careful!, 'tools/call', call(order));
    assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
    const state = first.result!.requestState!;
    assert.match(String(first.result!.inputRequests!.confirm!.params?.message), /BUY 100 HK\.00700 @ 306 HKD/);
    const confirmationId = (JSON.parse(Buffer.from(state.split('.')[1]!, 'base64url').toString('utf8')) as { p: { c: string } }).p.c;

    const refusal = async (token: string, args: Record<string, unknown>, requestState: string, server = a) => {
      const answer = await modernRequest(server.url, token, 'tools/call', call(args, { inputResponses: accept, requestState }));
      assert.equal(answer.result?.isError, true, JSON.stringify(answer));
      return /^error \(([A-Z_]+)\): (.*)$/s.exec(toolText(answer))!.slice(1);
    };
    // The client can read the state but not change it: any edit breaks the seal.
    const [body, mac] = state.split('.').slice(1) as [string, string];
    const edited = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: Record<string, unknown> };
    const forged = `v1.${Buffer.from(JSON.stringify({ ...edited, p: { ...edited.p, k: 'wary' } })).toString('base64url')}.${mac}`;
    assert.deepEqual(await refusal(keys.careful!, order, `${state}x`), ['CONFIRMATION_INVALID', 'the confirmation state this call brought back is not one this server issued, or was altered; nothing was sent: call again without it to be asked again']);
    assert.deepEqual((await refusal(keys.wary!, order, forged))[0], 'CONFIRMATION_INVALID');
    assert.deepEqual(await refusal(keys.wary!, order, state), ['CONFIRMATION_INVALID', 'the confirmation state this call brought back belongs to another key; nothing was sent']);
    assert.deepEqual(await refusal(keys.careful!, { ...order, qty: 200 }, state), [
      'CONFIRMATION_INVALID',
      'the confirmation state this call brought back was asked for another call (other arguments): a changed call needs a new confirmation; nothing was sent',
    ]);
    assert.equal(await ordersAt(306), 0);

    // The human's yes, brought back to the other server: placed once; the same state again is a replay.
    const placed = await modernRequest(b.url, keys.careful!, 'tools/call', call(order, { inputResponses: accept, requestState: state }));
    assert.notEqual(placed.result?.isError, true, toolText(placed));
    assert.equal((placed.result!.structuredContent as { env: string }).env, 'simulate');
    assert.deepEqual(await refusal(keys.careful!, order, state), ['CONFIRMATION_INVALID', 'the confirmation state this call brought back was already used: a confirmation is good for one call; nothing was sent']);
    assert.equal(await ordersAt(306), 1);

    const steps = [...readAudit(a.auditLog), ...readAudit(b.auditLog)]
      .filter((r) => r.event === 'confirmation' && r.confirmation_id === confirmationId)
      .map((r) => `${r.kind}:${String(r.key_id)}`)
      .sort();
    assert.deepEqual(steps, ['accepted:careful', 'invalid:careful', 'invalid:careful', 'invalid:wary', 'requested:careful', 'used:careful'].sort());
    // Without the form capability there is no round: the call is refused for an out-of-band approval.
    const oob = await modernRequest(a.url, keys.careful!, 'tools/call', call({ ...ORDER, price: 307 }), {});
    assert.match(toolText(oob), /^error \(CONFIRMATION_REQUIRED\): .*confirmation_id [0-9a-f]{32}/);
  });

  it('2026-07-28 over stdio: the v2 client confirms an order in input_required rounds', async () => {
    const client = new V2Client({ name: 'modern-stdio', version: '0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
    const shown: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      shown.push(String((request.params as { message?: unknown }).message));
      return { action: 'accept', content: { confirm: true } };
    });
    const auditLog = run.path('stdio-modern.audit.jsonl');
    run.auditFiles.add(auditLog);
    const args = [FUTU_MCP, '--gateway', `127.0.0.1:${sim.port}`, '--keys-file', keysFile, '--state-dir', stateDir(), '--audit-log', auditLog];
    await client.connect(new V2StdioTransport({ command: process.execPath, args, env: { ...getDefaultEnvironment(), FUTU_MCP_API_KEY: keys.careful! }, stderr: 'ignore' }));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const placed = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 308 } })) as ToolCallResult;
      assert.notEqual(placed.isError, true, JSON.stringify(placed.content));
      assert.match(shown[0]!, /BUY 100 HK\.00700 @ 308 HKD/);
      assert.equal(await ordersAt(308), 1);
      const steps = readAudit(auditLog).filter((r) => r.event === 'confirmation').map((r) => `${r.kind}/${r.channel}`);
      assert.deepEqual(steps, ['requested/elicitation', 'accepted/elicitation', 'used/elicitation']);
    } finally {
      await client.close();
      // The audit file is complete once the server (and the SDK's discovery probe before it) stopped.
      await waitFor('the stdio server to write its shutdown record', () => readAudit(auditLog).at(-1)?.event === 'shutdown');
    }
  });
});
