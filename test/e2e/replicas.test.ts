/**
 * Three futu-mcp replicas over real HTTP (separate processes, each its own --state-dir) sharing
 * one Redis (password-protected) and one simulated OpenD (fixed clock, markets always open),
 * the load spread over all three: the limits hold across replicas, a retry landing on another
 * replica never places twice, a replica killed mid-burst loses nothing and leaks nothing past
 * the reservation TTL, and with Redis stopped mid-burst trades and unlocks are refused
 * (STATE_STORE_UNAVAILABLE) while reads go on, with no overshoot once it returns. A human's
 * approval (futucli approve --redis) of a call one replica asked about is used on another, once;
 * futucli halt --redis stops every replica at once. A 2025-era session lives on the replica that
 * opened it: another replica refuses it as unknown (404), and the client starts a new one there.
 * Each replica keeps its own audit chain, every
 * record naming the replica (futucli audit verify --chains). The Redis password never reaches a
 * log, an audit record, /metrics or futucli's output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { intentIdentity } from '../../src/authz/orderTag.js';
import { RedisLimits } from '../../src/authz/redisLimits.js';
import { RedisState } from '../../src/authz/redisState.js';
import type { FutuGateway } from '../../src/gateway/api.js';
import type { AccountRef } from '../../src/gateway/types.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { runFutucli, runFutucliAsync } from '../helpers/futucli.js';
import { RedisServer } from '../helpers/service.js';
import { REDIS, serviceGate } from '../helpers/systemService.js';
import { mcpPostHeaders, rawHttp, toolCallBody, type McpTestClient, type ToolCallResult } from '../helpers/mcpClients.js';
import { E2E_SIM_CLOCK, E2eRun, humanAt, pollFor, readAudit, sample, SIM, textOf, TRADE_PWD, waitForReadyz, type HttpServerProcess } from './helpers.js';

const REDIS_PASSWORD = 'e2e-Redis-Pw-7c1f';
const PREFIX = 'e2e-replicas:';
const RESERVATION_TTL_MS = 120_000;
const gate = serviceGate('3 replicas sharing one Redis and one simulator', REDIS);

function keyTagPrefix(keyId: string): string {
  return intentIdentity(keyId, 'x').tag.replace(/c:x$/, '');
}

const ok = (r: ToolCallResult) => r.isError !== true;

/** The code of a refused call (`error (CODE): message`), or 'OK'. */
const codeOf = (r: ToolCallResult) => (ok(r) ? 'OK' : (/^error \(([A-Z_]+)\)/.exec(textOf(r))?.[1] ?? textOf(r)));

describe(gate.name, { skip: gate.skip }, () => {
  const run = new E2eRun('replicas');
  let redis: RedisServer;
  let sim: SimulatorHandle;
  let human: FutuGateway;
  let hk: AccountRef;
  let us: AccountRef;
  let keys: Record<string, string>;
  let probe: RedisState;
  let ledger: RedisLimits;
  const replicas: HttpServerProcess[] = [];
  /** clients[key][replica] */
  const clients = new Map<string, McpTestClient[]>();
  const client = (key: string, i: number) => clients.get(key)![i % replicas.length]!;

  /** What OpenD holds for a key: the value (HKD cents) of its working orders in an account, and their count. */
  async function heldAtOpenD(account: AccountRef, keyId: string, fx = 1): Promise<{ value: number; count: number }> {
    const prefix = keyTagPrefix(keyId);
    const working = (await human.getOrders(account)).filter((o) => o.remark?.startsWith(prefix) && (o.status === 'SUBMITTED' || o.status === 'FILLED_PART'));
    return { value: working.reduce((sum, o) => sum + Math.round((o.qty - (o.fillQty ?? 0)) * (o.price ?? 0) * 100 * fx), 0), count: working.length };
  }

  before(async () => {
    redis = await RedisServer.start({ password: REDIS_PASSWORD });
    run.addSecret(REDIS_PASSWORD, 'Redis password');
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always', orderRateLimits: false });
    ({ human, hk, us } = await humanAt(sim.port));
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'daily-a', scopes: SIM, flags: ['--max-daily-value', '150000', '--allowed-trd-sides', 'BUY'] },
      { id: 'daily-b', scopes: SIM, flags: ['--max-daily-value', '100000', '--allowed-trd-sides', 'BUY'] },
      { id: 'rated', scopes: SIM, flags: ['--max-orders-per-minute', '4', '--allowed-trd-sides', 'BUY'] },
      { id: 'retry', scopes: SIM, flags: ['--allowed-trd-sides', 'BUY'] },
      { id: 'outage', scopes: [...SIM, 'trade:unlock'], flags: ['--max-daily-value', '30000', '--allowed-trd-sides', 'BUY'] },
      { id: 'killed', scopes: SIM, flags: ['--allowed-trd-sides', 'BUY'] },
      { id: 'oob', scopes: SIM, flags: ['--allowed-trd-sides', 'BUY', '--require-confirmation', 'always', '--confirmation-channel', 'out_of_band'] },
      { id: 'stopped', scopes: SIM, flags: ['--allowed-trd-sides', 'BUY'] },
      { id: 'modern', scopes: SIM, flags: ['--allowed-trd-sides', 'BUY'] },
    ]);
    for (const [i, name] of ['replica-1', 'replica-2', 'replica-3'].entries()) {
      // One replica gets the password in the URL, the others from the environment.
      const url = i === 0 ? redis.url.replace('redis://', `redis://:${REDIS_PASSWORD}@`) : redis.url;
      replicas.push(
        await run.startHttp({
          name,
          keysFile,
          gateway: `127.0.0.1:${sim.port}`,
          extraArgs: ['--redis', url, '--redis-prefix', PREFIX, '--redis-timeout', '5s'],
          env: i === 0 ? {} : { FUTU_MCP_REDIS_PASSWORD: REDIS_PASSWORD },
        }),
      );
    }
    for (const id of Object.keys(keys)) clients.set(id, await Promise.all(replicas.map((r) => run.connectHttp('v2', r.url, keys[id]!))));
    probe = new RedisState({ url: redis.url, password: REDIS_PASSWORD, prefix: PREFIX });
    await probe.start();
    ledger = new RedisLimits(probe);
  });

  /** futucli on the replicas' shared state: their --redis and prefix, the password from the environment. */
  const futucli = (args: readonly string[], redisUrl = redis.url, prefix = PREFIX) =>
    runFutucliAsync(['-o', 'json', ...args, '--state-dir', run.path('futucli.state'), '--redis', redisUrl, '--redis-prefix', prefix], {
      env: { FUTU_MCP_REDIS_PASSWORD: REDIS_PASSWORD },
    });

  after(async () => {
    await probe?.close();
    await run.dispose();
    await human?.close();
    await sim?.close();
    await redis?.dispose();
  });

  it('an idempotent retry landing on other replicas (also in parallel) places one order', async () => {
    const order = { symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 1, price: 100, client_order_id: 'replicas-retry-1' };
    const first = await client('retry', 0).callTool('futu_place_order', order);
    assert.ok(ok(first), textOf(first));
    const retries = await Promise.all([1, 2, 1, 2].map((i) => client('retry', i).callTool('futu_place_order', order)));
    for (const r of retries) {
      assert.ok(ok(r), textOf(r));
      assert.equal(r.structuredContent!.order_id, first.structuredContent!.order_id);
      assert.equal(r.structuredContent!.replay, true);
    }
    const parallel = { ...order, client_order_id: 'replicas-retry-2' };
    const racing = await Promise.all([0, 1, 2].map((i) => client('retry', i).callTool('futu_place_order', parallel)));
    assert.equal(new Set(racing.filter(ok).map((r) => r.structuredContent!.order_id)).size, 1, racing.map(textOf).join('\n'));
    assert.equal((await heldAtOpenD(us, 'retry')).count, 2, 'two client_order_ids, two orders at OpenD');
  });

  it('2026-07-28 needs no session: each request may land on any replica; a retry on another replica replays, a cancel on a third works', async () => {
    const modern = await Promise.all(replicas.map((r) => run.connectHttp('v2', r.url, keys.modern!, 'auto')));
    for (const c of modern) assert.equal(c.sessionId, undefined, 'no Mcp-Session-Id');
    const order = { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 250, client_order_id: 'modern-1' };
    const placed = await modern[0]!.callTool('futu_place_order', order);
    assert.ok(ok(placed), textOf(placed));
    const retried = await modern[1]!.callTool('futu_place_order', order);
    assert.deepEqual([retried.structuredContent!.order_id, retried.structuredContent!.replay], [placed.structuredContent!.order_id, true]);
    const cancelled = await modern[2]!.callTool('futu_cancel_order', { order_id: String(placed.structuredContent!.order_id) });
    assert.ok(ok(cancelled), `the order is the key's own on every replica: ${textOf(cancelled)}`);
    assert.equal((await heldAtOpenD(hk, 'modern')).count, 0);
  });

  it('a 2025-era session opened on one replica is refused on another as unknown (404, -32001), and the SDK client recovers by initializing there', async () => {
    const [onA, onB] = [replicas[0]!, replicas[1]!];
    const opened = await run.connectHttp('v1', onA.url, keys.retry!);
    const session = opened.sessionId!;
    const raw = await rawHttp(onB.url, { method: 'POST', headers: mcpPostHeaders(keys.retry, session), body: toolCallBody('futu_get_snapshot', { symbol: 'US.AAPL' }) });
    assert.equal(raw.status, 404, raw.body);
    const refusal = (JSON.parse(raw.body) as { error: { code: number; message: string } }).error;
    assert.equal(refusal.code, -32001);
    assert.match(refusal.message, /Session not found: .*initialize a new one/);

    // The v1 SDK client resuming A's session on B gets the 404 the spec tells it to start over on...
    const resumed = new V1Client({ name: 'resuming', version: '0' });
    await resumed.connect(new V1HttpTransport(new URL(onB.url), { sessionId: session, requestInit: { headers: { Authorization: `Bearer ${keys.retry!}` } } }));
    try {
      await assert.rejects(resumed.callTool({ name: 'futu_get_snapshot', arguments: { symbol: 'US.AAPL' } }), /404|Session not found/);
    } finally {
      await resumed.close();
    }
    // ...and a new session on B, with the same key, answers at once; A's session is untouched.
    const fresh = await run.connectHttp('v1', onB.url, keys.retry!);
    assert.ok(ok(await fresh.callTool('futu_get_snapshot', { symbol: 'US.AAPL' })));
    assert.ok(ok(await opened.callTool('futu_get_snapshot', { symbol: 'US.AAPL' })));
  });

  it('futucli approve --redis answers a confirmation replica A asked for; the approved call is placed on replica C, once', async () => {
    const order = { symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 1, price: 93 };
    const asked = await client('oob', 0).callTool('futu_place_order', order);
    assert.equal(codeOf(asked), 'CONFIRMATION_REQUIRED', textOf(asked));
    const id = /confirmation_id ([0-9a-f]{32})/.exec(textOf(asked))![1]!;
    const early = await client('oob', 1).callTool('futu_place_order', { ...order, confirmation_id: id });
    assert.match(textOf(early), /is not approved/, 'the id alone lets nothing through, on any replica');

    const elsewhere = await futucli(['approve', id, '--yes'], redis.url, 'elsewhere:');
    assert.equal(elsewhere.status, 1);
    assert.match(elsewhere.stdout, new RegExp(`no confirmation ${id} in Redis redis://127\\.0\\.0\\.1:${redis.port}/0 \\(prefix elsewhere:\\)`));
    // This time the password comes in the URL.
    const approved = await futucli(['approve', id, '--yes'], redis.url.replace('redis://', `redis://:${REDIS_PASSWORD}@`));
    assert.equal(approved.status, 0, approved.stdout + approved.stderr);
    assert.equal(JSON.parse(approved.stdout).state, 'approved');
    for (const output of [elsewhere, approved]) assert.ok(!`${output.stdout}${output.stderr}`.includes(REDIS_PASSWORD), 'futucli never prints the password');

    const placed = await client('oob', 2).callTool('futu_place_order', { ...order, confirmation_id: id });
    assert.ok(ok(placed), textOf(placed));
    const reused = await client('oob', 1).callTool('futu_place_order', { ...order, confirmation_id: id });
    assert.equal(codeOf(reused), 'CONFIRMATION_INVALID');
    assert.match(textOf(reused), /already used/);
    assert.equal((await heldAtOpenD(us, 'oob')).count, 1, 'one order at OpenD');
    // What each replica's calls did; futucli's approval is audited once, by whichever replica took it from Redis.
    const records = (r: HttpServerProcess) => readAudit(r.auditLog).filter((e) => e.event === 'confirmation' && e.confirmation_id === id);
    const kinds = (r: HttpServerProcess) => records(r).filter((e) => e.channel !== 'cli').map((e) => e.kind);
    assert.deepEqual(kinds(replicas[0]!), ['requested']);
    assert.deepEqual(kinds(replicas[2]!), ['used']);
    assert.deepEqual(kinds(replicas[1]!), ['invalid', 'invalid']);
    await pollFor('a replica to audit the approval', async () => (replicas.some((r) => records(r).some((e) => e.channel === 'cli')) ? true : undefined));
    assert.deepEqual(replicas.flatMap((r) => records(r).filter((e) => e.channel === 'cli').map((e) => e.kind)), ['approved']);
  });

  it('futucli halt --redis stops trading on every replica at once (no signal), cancels keep working; resume lifts it everywhere', async () => {
    const order = (price: number) => ({ symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 1, price });
    const resting = await client('stopped', 0).callTool('futu_place_order', order(94));
    assert.ok(ok(resting), textOf(resting));
    const halted = await futucli(['halt', '--reason', 'replicas drill']);
    assert.equal(halted.status, 0, halted.stdout + halted.stderr);
    for (let i = 0; i < replicas.length; i++) {
      const refused = await client('stopped', i).callTool('futu_place_order', order(95));
      assert.equal(codeOf(refused), 'TRADING_HALTED', `replica ${i + 1}: ${textOf(refused)}`);
      assert.match(textOf(refused), /trading halted: replicas drill/);
    }
    const cancelled = await client('stopped', 1).callTool('futu_cancel_order', { order_id: String(resting.structuredContent!.order_id) });
    assert.ok(ok(cancelled), `cancels keep working: ${textOf(cancelled)}`);
    for (const r of replicas) await pollFor(`${r.origin} to show the halt`, async () => (sample(await r.metrics(), 'futu_trading_halted', { key_id: '*' }) === 1 ? true : undefined));

    const resumed = await futucli(['resume']);
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).lifted, true);
    for (let i = 0; i < replicas.length; i++) {
      const placed = await client('stopped', i).callTool('futu_place_order', order(96 + i));
      assert.ok(ok(placed), `replica ${i + 1} trades again: ${textOf(placed)}`);
    }
    // futucli's halt and resume are queued in Redis and audited once, by whichever replica takes them.
    const drill = () => replicas.flatMap((r) => readAudit(r.auditLog)).filter((e) => (e.event === 'halt' && e.reason === 'replicas drill') || e.event === 'resume');
    await pollFor('a replica to audit the halt and its end', async () => (drill().length >= 2 ? true : undefined));
    assert.deepEqual(drill().map((e) => e.event).sort(), ['halt', 'resume']);
  });

  it('Redis stopped mid-burst: trades and unlocks refused STATE_STORE_UNAVAILABLE, reads go on, /readyz and the metric say so; no overshoot after it returns', async (t) => {
    // A failure in here must not leave Redis down for the tests after it.
    t.after(() => redis.start());
    // About HKD 7,000 an order against a cap of HKD 30,000: four orders a day.
    const order = (i: number) => ({ symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 10, price: 90 + (i % 2) });
    const burst = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => client('outage', i).callTool('futu_place_order', order(i))));
    const before = await burst(2);
    assert.ok(before.every(ok), before.map(textOf).join('\n'));

    const stopping = redis.stop();
    const during = await burst(30);
    await stopping;
    const whileDown = await burst(15);
    for (const r of whileDown) assert.equal(codeOf(r), 'STATE_STORE_UNAVAILABLE', textOf(r));
    assert.match(textOf(whileDown[0]!), /limits cannot be checked/);
    // Before Redis is gone the burst may fill the cap (how much of it gets through depends on the machine).
    const duringCodes = new Set(['OK', 'STATE_STORE_UNAVAILABLE', 'ORDER_OUTCOME_UNKNOWN', 'LIMIT_EXCEEDED']);
    for (const r of during) assert.ok(duringCodes.has(codeOf(r)), textOf(r));
    const unlock = await client('outage', 1).callTool('futu_unlock_trade', {});
    assert.equal(codeOf(unlock), 'STATE_STORE_UNAVAILABLE', textOf(unlock));
    const read = await client('outage', 2).callTool('futu_get_snapshot', { symbol: 'US.AAPL' });
    assert.ok(ok(read), `reads go on: ${textOf(read)}`);
    for (const r of replicas) {
      await waitForReadyz(r.origin, 503);
      assert.equal(sample(await r.metrics(), 'futu_state_store_up', {}), 0);
    }

    await redis.start();
    for (const r of replicas) {
      await waitForReadyz(r.origin, 200);
      assert.equal(sample(await r.metrics(), 'futu_state_store_up', {}), 1);
    }
    // Everything placed before and during the outage is still counted (Redis persisted it): the
    // cap of HKD 30,000 is reached by the burst after it, never passed.
    const afterwards = await burst(20);
    // How many of the outage burst got through before Redis stopped depends on the machine's speed,
    // so the cap may already be full: trading is back when every decision is made again (placed, or
    // refused by the limit, which only a reachable ledger can say), none refused for the store.
    for (const r of afterwards) assert.ok(ok(r) || codeOf(r) === 'LIMIT_EXCEEDED', `trading resumed by itself: ${textOf(r)}`);
    assert.ok(afterwards.some((r) => codeOf(r) === 'LIMIT_EXCEEDED'), 'the daily cap was reached');
    const used = (await ledger.usage('outage')).dailyValue;
    const held = await heldAtOpenD(us, 'outage', 7.85);
    assert.ok(used <= 3_000_000, `ledger ${used} within HKD 30,000`);
    // At most the four orders the cap allows. Fewer when Redis went away before a refused or
    // unsent order's reservation was released (it counts until its TTL lapses), or before an
    // accepted one's commit (reconciliation commits it again): over-counted, never under.
    assert.ok(held.count >= 2 && held.count <= 4, `OpenD holds ${held.count} orders: no more than the cap allows`);
    // Orders in USD are valued with the FX table's margin: the ledger counts at least what OpenD holds.
    assert.ok(used >= held.value, `the ledger (${used}) counts what OpenD holds (${held.value})`);
  });

  it('300 parallel orders from 3 keys over 3 replicas: no daily or rate cap exceeded, each ledger equal to what OpenD holds', async () => {
    const ids = ['daily-a', 'daily-b', 'rated'];
    const calls = Array.from({ length: 300 }, (_, i) =>
      client(ids[i % 3]!, Math.floor(i / 3)).callTool('futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 280 + (i % 20) }),
    );
    const results = await Promise.all(calls);
    const allowedCodes = new Set(['LIMIT_EXCEEDED', 'GATEWAY_RATE_LIMITED', 'OPEND_ERROR']);
    const why = () => replicas.flatMap((r) => r.stderr().split('\n').filter((l) => l.includes('state store'))).slice(-5).join('\n');
    for (const r of results) assert.ok(ok(r) || allowedCodes.has(codeOf(r)), `${textOf(r)}\n${why()}`);
    const placedBy = (id: string) => results.filter((r, i) => ids[i % 3] === id && ok(r)).length;
    assert.ok(placedBy('rated') <= 4, `rated: ${placedBy('rated')} orders within 4 a minute`);
    const caps: Record<string, number> = { 'daily-a': 15_000_000, 'daily-b': 10_000_000, rated: Number.MAX_SAFE_INTEGER };
    for (const id of ids) {
      const used = (await ledger.usage(id)).dailyValue;
      const held = await heldAtOpenD(hk, id);
      assert.ok(used <= caps[id]!, `${id}: ledger ${used} within the cap`);
      assert.equal(used, held.value, `${id}: the ledger equals what OpenD holds`);
      assert.equal(held.count, placedBy(id), `${id}: one order at OpenD per success`);
    }
    assert.ok(placedBy('daily-a') >= 1 && placedBy('daily-b') >= 1, 'orders went through on the shared limits');
  });

  it('kill -9 of a replica mid-burst: nothing lost, no reservation kept past its TTL', async (t) => {
    const order = (i: number) => ({ symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 1, price: 80 + (i % 10) });
    const victim = replicas[2]!;
    const raw = new Redis({ port: redis.port, password: REDIS_PASSWORD, keyPrefix: PREFIX });
    try {
      const victimsOpenIntents = async () => {
        const ids = await raw.zrange('intents:open', 0, -1);
        const texts = ids.length ? await raw.mget(ids.map((id) => `intent:${id}`)) : [];
        return ids.filter((_, i) => texts[i] != null && (JSON.parse(texts[i]!) as { holder?: string }).holder?.includes(`:${victim.pid}:`)).sort().join(',');
      };
      const burst = Array.from({ length: 45 }, (_, i) => client('killed', i).callTool('futu_place_order', order(i)).catch((err: Error) => err));
      // Killed while it holds orders in flight (intents recorded, reservations taken). Frozen first
      // (SIGSTOP), then killed once what it had already written has landed (the same intents twice
      // in a row): an order it finished between a count and the kill would leave nothing to reconcile.
      let inFlight = '';
      const freezeBy = Date.now() + 20_000;
      while (inFlight === '') {
        await pollFor('the victim to have orders in flight', async () => (await victimsOpenIntents()) || undefined, 20_000);
        process.kill(victim.pid, 'SIGSTOP');
        for (let last = '?'; inFlight !== last; ) {
          last = inFlight;
          await new Promise((resolve) => setTimeout(resolve, 200));
          inFlight = await victimsOpenIntents();
        }
        if (inFlight === '') process.kill(victim.pid, 'SIGCONT');
        assert.ok(inFlight !== '' || Date.now() < freezeBy, 'the victim never stood still with an order in flight');
      }
      const killedAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');

      // Its heartbeat lapses (15 s), then another replica reconciles what it left sending (a
      // round every 5 s), while the clients of the burst still wait on the dead replica.
      await pollFor("the dead replica's intents to be reconciled", async () => ((await raw.zcard('intents:open')) === 0 ? true : undefined), 120_000);
      t.diagnostic(`${inFlight.split(',').length} orders in flight on the killed replica, reconciled ${Date.now() - killedAt} ms after the kill`);
      await Promise.all(burst);
      const held = await heldAtOpenD(us, 'killed', 7.85);
      const used = (await ledger.usage('killed')).dailyValue;
      assert.ok(held.count > 0, 'orders went through');
      assert.ok(used >= held.value, `nothing lost: the ledger (${used}) counts what OpenD holds (${held.value})`);
      const reservationSets = (await raw.keys(`${PREFIX}ledger:*:res`)).map((k) => k.slice(PREFIX.length));
      for (const key of reservationSets) {
        const scored = await raw.zrange(key, 0, -1, 'WITHSCORES');
        for (let i = 1; i < scored.length; i += 2) assert.ok(Number(scored[i]) <= killedAt + RESERVATION_TTL_MS + 5_000, 'every reservation lapses within its TTL');
        const ttl = await raw.pttl(key);
        assert.ok(ttl > 0 && ttl <= RESERVATION_TTL_MS, `the reservation set itself expires (${ttl} ms)`);
      }
      // Each resolution is audited just after its intent leaves the open set.
      const reconciled = () => [...run.auditFiles].flatMap((file) => readAudit(file)).filter((r) => r.event === 'order_reconciled' && r.key_id === 'killed');
      await pollFor('a surviving replica to audit each order the dead one left', () => (reconciled().length >= inFlight.split(',').length ? true : undefined), 10_000);
    } finally {
      raw.disconnect();
    }
  });

  it('the Redis password is in no log, audit record or /metrics body; every key is under the prefix and expires', async () => {
    for (const r of replicas.slice(0, 2)) await r.metrics();
    await run.closeAll();
    assert.deepEqual(run.secretFindings(), []);

    // Each replica its own chain, every record naming the replica (the same id as its Redis heartbeat).
    const verified = runFutucli(['-o', 'json', 'audit', 'verify', '--chains', ...replicas.map((r) => r.auditLog)]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    const chains = (JSON.parse(verified.stdout) as { chains: { ok: boolean; replicas: string[] }[] }).chains;
    chains.forEach((chain, i) => {
      assert.equal(chain.replicas.length, 1, `one replica wrote ${replicas[i]!.auditLog}`);
      assert.ok(chain.replicas[0]!.includes(`:${replicas[i]!.pid}:`), chain.replicas[0]);
      assert.ok(readAudit(replicas[i]!.auditLog).every((r) => r.replica === chain.replicas[0]));
    });
    const raw = new Redis({ port: redis.port, password: REDIS_PASSWORD });
    try {
      const all = await raw.keys('*');
      assert.ok(all.length > 0);
      for (const key of all) {
        assert.ok(key.startsWith(PREFIX), `${key} is namespaced`);
        // Halts alone last until futucli resume, and the drill resumed.
        assert.notEqual(await raw.pttl(key), -1, `${key} expires`);
      }
    } finally {
      raw.disconnect();
    }
  });
});
