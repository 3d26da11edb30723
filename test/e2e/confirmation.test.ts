/**
 * A human in the loop, over real HTTP against one simulated OpenD and two futu-mcp servers
 * sharing a state directory:
 * - a key that must have a human confirm its orders is asked through the client's elicitation
 *   form (v2 client): accept places the order, decline refuses it and nothing is sent;
 * - a client without elicitation gets CONFIRMATION_REQUIRED with a confirmation_id (text and
 *   structured details); `futucli approve` or the approval page lets exactly that call through
 *   once; reuse, other arguments and another key's id are refused CONFIRMATION_INVALID;
 * - above_value asks only for orders worth more than the threshold;
 * - `futucli halt` stops both servers with no signal, cancels keep working, `resume` lifts it;
 * - futu_get_limits reports what the ledger holds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { StdioClientTransport as V2StdioTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { runFutucliAsync } from '../helpers/futucli.js';
import { rawHttp, type McpTestClient, type ToolCallResult } from '../helpers/mcpClients.js';
import { E2E_SIM_CLOCK, E2eRun, FUTU_MCP, readAudit, SIM, TRADE_PWD, tradeOk, waitFor, type HttpServerProcess } from './helpers.js';

const ORDER = { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 } as const;

function errorOf(result: ToolCallResult): { code: string; message: string } {
  assert.equal(result.isError, true, `expected an error, got ${JSON.stringify(result.structuredContent)}`);
  const text = String(result.content[0]?.text);
  const match = /^error \(([A-Z_]+)\): ([\s\S]*)$/.exec(text);
  assert.ok(match, text);
  return { code: match[1]!, message: match[2]! };
}

type ElicitAnswer = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, boolean> };

/** A v2 client whose user answers every confirmation form with `answer` (and records what it was shown). */
async function elicitingClient(url: string, token: string, answer: () => ElicitAnswer, shown: string[]): Promise<V2Client> {
  const client = new V2Client({ name: 'confirming-client', version: '0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler('elicitation/create', async (request) => {
    shown.push(String((request.params as { message?: unknown }).message));
    return answer();
  });
  await client.connect(new V2HttpTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

describe('a human confirms, halts and sees the limits', () => {
  const run = new E2eRun('confirmation');
  let sim: SimulatorHandle;
  let a: HttpServerProcess;
  let b: HttpServerProcess;
  let keys: Record<string, string>;
  let keysFile: string;
  const stateDir = () => run.path('shared.state');
  const futucli = (...args: string[]) => runFutucliAsync(['-o', 'json', ...args, '--state-dir', stateDir()]);
  const ordersWith = async (price: number) => (await human()).filter((o) => o.price === price);
  /** The audit logs of every server sharing the state (a, b, the stdio one, c once started). */
  const auditLogs = () => [a.auditLog, b.auditLog, run.path('stdio.audit.jsonl'), run.path('c.audit.jsonl')];
  /** Their records: futucli's acts are audited by whichever server takes them from the queue. */
  const serverAudits = () => auditLogs().flatMap((file) => (existsSync(file) ? readAudit(file) : []));
  let human: () => Promise<Array<{ price?: number; status: unknown; remark?: string }>>;

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'careful', scopes: SIM, flags: ['--require-confirmation', 'always'] },
      { id: 'careful-v1', scopes: SIM, flags: ['--require-confirmation', 'always'] },
      { id: 'oob', scopes: SIM, flags: ['--require-confirmation', 'always', '--confirmation-channel', 'out_of_band'] },
      { id: 'big', scopes: SIM, flags: ['--require-confirmation', '30000'] },
      { id: 'bot', scopes: SIM, flags: ['--max-daily-value', '100000', '--max-orders-per-minute', '5'] },
    ]);
    const extraArgs = ['--state-dir', stateDir(), '--confirmation-timeout', '3s'];
    a = await run.startHttp({ name: 'a', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs });
    b = await run.startHttp({ name: 'b', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs });
    const reader = await run.connectHttp('v2', a.url, keys.bot!);
    human = async () => {
      const listed = (await reader.callTool('futu_get_orders', { env: 'simulate', market: 'HK' })).structuredContent as { orders: Array<{ price?: number; status: unknown; remark?: string }> };
      return listed.orders;
    };
  });
  after(async () => {
    await run.dispose();
    await sim.close();
  });

  it('elicitation with the v1 client (@modelcontextprotocol/sdk): accept places the order, decline and a late answer send nothing', async () => {
    const answers: Array<() => Promise<ElicitAnswer>> = [
      async () => ({ action: 'accept', content: { confirm: true } }),
      async () => ({ action: 'decline' }),
      // Later than --confirmation-timeout (3 s): the server has given up by then.
      () => new Promise((resolve) => setTimeout(() => resolve({ action: 'accept', content: { confirm: true } }), 4_500)),
    ];
    const shown: string[] = [];
    const client = new V1Client({ name: 'confirming-v1', version: '0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      shown.push(String(request.params.message));
      return answers.shift()!();
    });
    await client.connect(new V1HttpTransport(new URL(a.url), { requestInit: { headers: { Authorization: `Bearer ${keys['careful-v1']!}` } } }));
    try {
      const placed = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 321 } })) as ToolCallResult;
      assert.notEqual(placed.isError, true, JSON.stringify(placed.content));
      assert.match(shown[0]!, /Key careful-v1 wants to: BUY 100 HK\.00700 @ 321 HKD/);
      assert.equal((await ordersWith(321)).length, 1);
      assert.equal(errorOf((await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 322 } })) as ToolCallResult).code, 'CONFIRMATION_DECLINED');
      const late = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 323 } }, undefined, { timeout: 60_000 })) as ToolCallResult;
      assert.equal(errorOf(late).code, 'CONFIRMATION_TIMEOUT');
      assert.equal(shown.length, 3, 'the human was asked each time');
      assert.deepEqual([(await ordersWith(322)).length, (await ordersWith(323)).length], [0, 0], 'nothing was sent after a no or a late yes');
      const kinds = readAudit(a.auditLog).filter((r) => r.event === 'confirmation' && r.key_id === 'careful-v1').map((r) => `${r.kind}/${r.channel}`);
      assert.deepEqual(kinds, ['requested/elicitation', 'accepted/elicitation', 'requested/elicitation', 'declined/elicitation', 'requested/elicitation', 'timeout/elicitation']);
    } finally {
      await client.close();
    }
  });

  it('elicitation: the human sees the order in plain words; accept places it, decline sends nothing', async () => {
    let reply: ElicitAnswer = { action: 'accept', content: { confirm: true } };
    const shown: string[] = [];
    const client = await elicitingClient(a.url, keys.careful!, () => reply, shown);
    try {
      const placed = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 301 } })) as ToolCallResult;
      assert.notEqual(placed.isError, true, JSON.stringify(placed.content));
      assert.match(shown[0]!, /Key careful wants to: BUY 100 HK\.00700 @ 301 HKD \(LIMIT\) in simulate account \d+/);
      assert.match(shown[0]!, /Value: HKD 30,100\.00/);
      assert.match(shown[0]!, /Asked by policy: a human must confirm this order \(require_confirmation: always\)/);
      assert.equal((await ordersWith(301)).length, 1);

      reply = { action: 'decline' };
      assert.equal(errorOf((await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 302 } })) as ToolCallResult).code, 'CONFIRMATION_DECLINED');
      reply = { action: 'accept', content: { confirm: false } };
      assert.equal(errorOf((await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 302 } })) as ToolCallResult).code, 'CONFIRMATION_DECLINED');
      assert.equal((await ordersWith(302)).length, 0, 'nothing was sent');
      const kinds = readAudit(a.auditLog).filter((r) => r.event === 'confirmation' && r.key_id === 'careful').map((r) => `${r.kind}/${r.channel}`);
      assert.deepEqual(kinds, ['requested/elicitation', 'accepted/elicitation', 'requested/elicitation', 'declined/elicitation', 'requested/elicitation', 'declined/elicitation']);
    } finally {
      await client.close();
    }
  });

  it('out of band: CONFIRMATION_REQUIRED with an id; futucli approve lets exactly that call through once', async () => {
    const oob = await run.connectHttp('v2', a.url, keys.oob!);
    const first = await oob.callTool('futu_place_order', { ...ORDER, price: 303, client_order_id: 'oob-1' });
    const refused = errorOf(first);
    assert.equal(refused.code, 'CONFIRMATION_REQUIRED');
    const meta = (first as { _meta?: Record<string, { confirmation_id: string; expires_at: string; approval_url?: string }> })._meta?.['futu-mcp/error'];
    assert.ok(meta, 'structured details in _meta');
    const id = meta.confirmation_id;
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok(refused.message.includes(id) && refused.message.includes(meta.expires_at) && refused.message.includes(String(meta.approval_url)));
    assert.equal(meta.approval_url, `${a.origin}/approve/${id}`);

    // Not approved yet: the id alone lets nothing through.
    assert.match(errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 303, client_order_id: 'oob-1', confirmation_id: id })).message, /is not approved/);
    const approved = await futucli('approve', id, '--yes');
    assert.equal(approved.status, 0, approved.stderr + approved.stdout);
    // Another key's id, and the same id for other arguments, are refused; neither uses it up.
    const other = await run.connectHttp('v2', b.url, keys.careful!);
    assert.match(errorOf(await other.callTool('futu_place_order', { ...ORDER, price: 303, client_order_id: 'oob-1', confirmation_id: id })).message, /belongs to another key/);
    assert.match(errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 304, client_order_id: 'oob-1', confirmation_id: id })).message, /was asked for another call/);
    // The approved call, on the other server: placed once; the id is then used up.
    const placed = await tradeOk(await run.connectHttp('v2', b.url, keys.oob!), 'futu_place_order', { ...ORDER, price: 303, client_order_id: 'oob-1', confirmation_id: id });
    assert.equal(placed.client_order_id, 'oob-1');
    assert.equal((await ordersWith(303)).length, 1);
    const reused = errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 303, client_order_id: 'oob-2', confirmation_id: id }));
    assert.equal(reused.code, 'CONFIRMATION_INVALID');
    const kinds = readAudit(b.auditLog).filter((r) => r.event === 'confirmation' && r.confirmation_id === id && r.channel !== 'cli').map((r) => `${r.kind}/${r.channel}`);
    assert.deepEqual(kinds, ['invalid/out_of_band', 'used/out_of_band'], 'the calls on b');
    // futucli's approval is audited once, by whichever server took it from the shared queue.
    const approvals = await waitFor('the approval in an audit log', () => {
      const found = serverAudits().filter((r) => r.event === 'confirmation' && r.confirmation_id === id && r.kind === 'approved');
      return found.length > 0 ? found : undefined;
    });
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0]!.channel, 'cli');
    assert.match(String(approvals[0]!.acted_at), /^\d{4}-\d\d-\d\dT/);
  });

  it('the approval page: shows the order, approves with its form (no key), and refuses a forged form', async () => {
    const oob = await run.connectHttp('v1', a.url, keys.oob!);
    const first = await oob.callTool('futu_place_order', { ...ORDER, price: 305 });
    const id = /confirmation_id ([0-9a-f]{32})/.exec(errorOf(first).message)![1]!;
    const page = await rawHttp(`${a.origin}/approve/${id}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /BUY 100 HK\.00700 @ 305 HKD/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const token = /name="token" value="([0-9a-f]+)"/.exec(page.body)![1]!;
    const post = (body: string) => rawHttp(`${a.origin}/approve/${id}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal((await post(`token=${'0'.repeat(token.length)}&decision=approve`)).status, 403);
    assert.equal((await post(`token=${token}&decision=approve`)).status, 200);
    assert.equal((await post(`token=${token}&decision=reject`)).status, 409, 'answered once');
    await tradeOk(oob, 'futu_place_order', { ...ORDER, price: 305, confirmation_id: id });
    assert.ok(readAudit(a.auditLog).some((r) => r.event === 'confirmation' && r.confirmation_id === id && r.kind === 'approved' && r.channel === 'page'));
  });

  it('no answer within --confirmation-timeout refuses the call CONFIRMATION_TIMEOUT; nothing is sent', async () => {
    const client = await elicitingClient(a.url, keys.careful!, () => new Promise<never>(() => undefined) as never, []);
    try {
      const result = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 309 } }, { timeout: 60_000 })) as ToolCallResult;
      assert.equal(errorOf(result).code, 'CONFIRMATION_TIMEOUT');
      assert.equal((await ordersWith(309)).length, 0);
    } finally {
      await client.close();
    }
  });

  it('over stdio the same form confirms the order', async () => {
    const client = new V2Client({ name: 'confirming-stdio', version: '0' }, { capabilities: { elicitation: { form: {} } } });
    const shown: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      shown.push(String((request.params as { message?: unknown }).message));
      return { action: 'accept', content: { confirm: true } };
    });
    const args = [FUTU_MCP, '--gateway', `127.0.0.1:${sim.port}`, '--keys-file', keysFile, '--state-dir', stateDir(), '--audit-log', run.path('stdio.audit.jsonl')];
    await client.connect(new V2StdioTransport({ command: process.execPath, args, env: { ...getDefaultEnvironment(), FUTU_MCP_API_KEY: keys.careful! }, stderr: 'ignore' }));
    try {
      const placed = (await client.callTool({ name: 'futu_place_order', arguments: { ...ORDER, price: 310 } })) as ToolCallResult;
      assert.notEqual(placed.isError, true, JSON.stringify(placed.content));
      assert.match(shown[0]!, /BUY 100 HK\.00700 @ 310 HKD/);
      assert.equal((await ordersWith(310)).length, 1);
    } finally {
      await client.close();
    }
  });

  it('futucli reject: the call is refused with the id, and the rejection is audited', async () => {
    const oob = await run.connectHttp('v1', b.url, keys.oob!);
    const id = /confirmation_id ([0-9a-f]{32})/.exec(errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 311 })).message)![1]!;
    assert.equal((await futucli('reject', id, '--yes')).status, 0);
    assert.match(errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 311, confirmation_id: id })).message, /rejected by a human/);
    const again = await futucli('approve', id, '--yes');
    assert.notEqual(again.status, 0, 'a rejected id cannot be approved after all');
    const rejections = await waitFor('the rejection in an audit log', () => {
      const found = serverAudits().filter((r) => r.event === 'confirmation' && r.confirmation_id === id && r.kind === 'rejected');
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(rejections.map((r) => r.channel), ['cli'], 'audited once, when the human answered');
    assert.equal((await ordersWith(311)).length, 0);
  });

  it('an approval never used and a request never answered are audited when they expire, and refused after', async () => {
    // A third server sharing the state, with short approvals: the expiries are swept by whichever server sees them first.
    const c = await run.startHttp({ name: 'c', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs: ['--state-dir', stateDir(), '--approval-ttl', '6s'] });
    assert.ok(auditLogs().includes(c.auditLog));
    const oob = await run.connectHttp('v2', c.url, keys.oob!);
    const ask = async (price: number) => /confirmation_id ([0-9a-f]{32})/.exec(errorOf(await oob.callTool('futu_place_order', { ...ORDER, price })).message)![1]!;
    const unused = await ask(312);
    const approved = await futucli('approve', unused, '--yes');
    assert.equal(approved.status, 0, approved.stderr);
    const unanswered = await ask(313);
    const expiries = await waitFor('both expiries audited', () => {
      const found = serverAudits().filter((r) => r.event === 'confirmation' && r.kind === 'expired');
      const ids = new Set(found.map((r) => r.confirmation_id));
      return ids.has(unused) && ids.has(unanswered) ? found : undefined;
    }, 30_000);
    for (const id of [unused, unanswered]) {
      const records = expiries.filter((r) => r.confirmation_id === id);
      assert.equal(records.length, 1, `expiry of ${id} audited once`);
      assert.deepEqual([records[0]!.channel, records[0]!.key_id, records[0]!.decision], ['out_of_band', 'oob', 'deny']);
    }
    const late = errorOf(await oob.callTool('futu_place_order', { ...ORDER, price: 312, confirmation_id: unused }));
    assert.equal(late.code, 'CONFIRMATION_INVALID');
    assert.match(late.message, /expired at/);
    assert.notEqual((await futucli('approve', unanswered, '--yes')).status, 0, 'an expired request cannot be approved');
    assert.equal((await ordersWith(312)).length + (await ordersWith(313)).length, 0);
  });

  it('a halt lifted within the same second is still audited, once: halt and resume, in order', async () => {
    assert.equal((await futucli('halt', '--key', 'careful', '--reason', 'blink')).status, 0);
    assert.equal((await futucli('resume', '--key', 'careful')).status, 0);
    const records = await waitFor('the halt and its resume', () => {
      const found = serverAudits().filter((r) => (r.event === 'halt' || r.event === 'resume') && r.key_id === 'careful');
      return found.length >= 2 ? found.sort((x, y) => String(x.acted_at).localeCompare(String(y.acted_at))) : undefined;
    });
    assert.deepEqual(records.map((r) => `${r.event}:${r.reason}`), ['halt:blink', 'resume:null']);
    assert.ok(String(records[0]!.acted_at) <= String(records[1]!.acted_at));
  });

  it('halt --key --cancel-open cancels that key\'s open orders only, and halts only that key', async () => {
    const bot = await run.connectHttp('v2', a.url, keys.bot!);
    const big = await run.connectHttp('v2', a.url, keys.big!);
    const mine = await tradeOk(bot, 'futu_place_order', { ...ORDER, price: 292 });
    const theirs = await tradeOk(big, 'futu_place_order', { ...ORDER, price: 293 });
    const halted = await futucli('halt', '--key', 'bot', '--cancel-open', '--gateway', `127.0.0.1:${sim.port}`);
    assert.equal(halted.status, 0, halted.stderr + halted.stdout);
    const cancelled = (JSON.parse(halted.stdout) as { cancelled: Array<{ order_id: string; key_id: string }> }).cancelled;
    assert.ok(cancelled.some((c) => c.order_id === String(mine.order_id) && c.key_id === 'bot'));
    assert.ok(cancelled.every((c) => c.key_id === 'bot'));
    const status = async (price: number) => String((await ordersWith(price))[0]?.status);
    assert.match(await status(292), /CANCELLED/);
    assert.equal(await status(293), 'SUBMITTED');
    assert.equal(errorOf(await bot.callTool('futu_place_order', { ...ORDER, price: 294 })).code, 'TRADING_HALTED');
    const audited = await waitFor('the cancel in an audit log', () => {
      const found = serverAudits().filter((r) => r.event === 'halt_cancel' && r.order_id === String(mine.order_id));
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(audited.map((r) => [r.key_id, r.env, r.decision]), [['bot', 'simulate', 'allow']], 'audited once, for the key that placed it');
    await tradeOk(big, 'futu_cancel_order', { order_id: String(theirs.order_id) });
    assert.equal((await futucli('resume', '--key', 'bot')).status, 0);
  });

  it('above_value: an order worth exactly the threshold goes through; one worth more asks', async () => {
    const big = await run.connectHttp('v1', a.url, keys.big!);
    await tradeOk(big, 'futu_place_order', { ...ORDER, price: 300 }); // HKD 30,000.00 = the threshold
    assert.equal(errorOf(await big.callTool('futu_place_order', { ...ORDER, price: 300.2 })).code, 'CONFIRMATION_REQUIRED');
  });

  it('halt stops both servers at once with no signal, cancels keep working, resume lifts it; futu_get_limits agrees with the ledger', async () => {
    const onA = await run.connectHttp('v2', a.url, keys.bot!);
    const onB: McpTestClient = await run.connectHttp('v2', b.url, keys.bot!);
    const usedBefore = (await new LimitsLedger({ stateDir: stateDir() }).usage('bot', new Date())).dailyValue;
    const resting = await tradeOk(onA, 'futu_place_order', { ...ORDER, price: 306 });
    const halted = await futucli('halt', '--reason', 'desk review');
    assert.equal(halted.status, 0, halted.stderr);
    for (const client of [onA, onB]) {
      assert.deepEqual(errorOf(await client.callTool('futu_place_order', { ...ORDER, price: 307 })), { code: 'TRADING_HALTED', message: 'trading halted: desk review' });
    }
    const haltedMetric = /futu_trading_halted\{key_id="\*"\} 1/;
    for (const server of [a, b]) await waitFor(`${server.origin} to show the halt`, async () => (haltedMetric.test(await server.metrics!()) ? true : undefined));
    const limits = (await onB.callTool('futu_get_limits', {})).structuredContent as Record<string, unknown>;
    assert.deepEqual([limits.halted, limits.halt_reason], [true, 'desk review']);
    await tradeOk(onB, 'futu_cancel_order', { order_id: String(resting.order_id) });
    assert.equal((await futucli('resume')).status, 0);
    await tradeOk(onB, 'futu_place_order', { ...ORDER, price: 308 });

    const now = new Date();
    const usage = await new LimitsLedger({ stateDir: stateDir() }).usage('bot', now);
    const after = (await onA.callTool('futu_get_limits', {})).structuredContent as Record<string, number | boolean | string | null>;
    assert.equal(after.halted, false);
    assert.equal(after.daily_value_used, usage.dailyValue / 100);
    assert.equal(usage.dailyValue - usedBefore, 3_080_000, 'the cancelled order gave its value back; the one placed after resume counts');
    assert.equal(after.daily_value_remaining, 100_000 - usage.dailyValue / 100);
    assert.equal(after.orders_left_this_minute, 5 - usage.ordersBefore);
    assert.equal(after.require_confirmation, 'never');
    for (const server of [a, b]) await waitFor(`${server.origin} to show the resume`, async () => (haltedMetric.test(await server.metrics!()) ? undefined : true));
    const haltRecords = () =>
      serverAudits()
        .filter((r) => (r.event === 'halt' || r.event === 'resume') && r.key_id !== 'careful')
        .sort((x, y) => String(x.acted_at).localeCompare(String(y.acted_at)))
        .map((r) => `${r.event}:${r.key_id}`);
    await waitFor('the resume record', () => (haltRecords().includes('resume:*') ? true : undefined));
    assert.deepEqual(haltRecords(), ['halt:bot', 'resume:bot', 'halt:*', 'resume:*'], 'each halt and resume audited once, by one of the servers');
  });
});
