/**
 * What only the Redis store has to prove, against a real redis-server: the URL and its
 * password, fail-closed on a stopped or hung Redis with automatic recovery (data kept), and a
 * lock whose holder was cut off lapsing after its TTL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthzError } from '../../src/authz/errors.js';
import { random128 } from '../../src/authz/humanState.js';
import { RedisLimits } from '../../src/authz/redisLimits.js';
import { parseRedisUrl, RedisState } from '../../src/authz/redisState.js';
import { RedisTradeState } from '../../src/authz/redisTradeState.js';
import { writeKeysFile } from '../../src/keys/file.js';
import { setLogSink } from '../../src/shared/log.js';
import { runFutucli } from '../helpers/futucli.js';
import { RedisServer } from '../helpers/service.js';
import { REDIS, serviceGate } from '../helpers/systemService.js';
import { makeKey, tempDir } from './fixtures.js';

const PASSWORD = 'unit-Redis-Pw-93ab';
const unavailable = (err: unknown) => err instanceof AuthzError && err.code === 'STATE_STORE_UNAVAILABLE' && !String(err.message).includes(PASSWORD);

describe('--redis URL', () => {
  it('takes host, port, db, TLS and a password from the URL or else from the environment', () => {
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380/2'), { host: '10.0.0.5', port: 6380, db: 2, tls: false, username: undefined, password: undefined, display: 'redis://10.0.0.5:6380/2' });
    const tls = parseRedisUrl('rediss://futu:p%40ss@redis.internal/0', 'from-env');
    assert.deepEqual([tls.tls, tls.port, tls.username, tls.password, tls.display], [true, 6379, 'futu', 'p@ss', 'rediss://redis.internal/0']);
    assert.equal(parseRedisUrl('redis://127.0.0.1:6379', 'from-env').password, 'from-env');
  });

  it('refuses anything else, naming the URL without its password', () => {
    for (const bad of [`http://:${PASSWORD}@host:1/0`, `redis://:${PASSWORD}@host:1/99`, `redis://:${PASSWORD}@host:1/0?tls=1`, 'not a url']) {
      assert.throws(
        () => parseRedisUrl(bad),
        (err: unknown) => (err as { code?: string }).code === 'INVALID_ARGUMENT' && !String((err as Error).message).includes(PASSWORD),
        bad,
      );
    }
  });
});

const gate = serviceGate('Redis store against a real redis-server', REDIS);
describe(gate.name, { skip: gate.skip }, () => {
  let server: RedisServer;
  const logs: string[] = [];
  const opened: RedisState[] = [];
  const open = async (fields: { prefix: string; password?: string; lockTtlMs?: number }) => {
    const redis = new RedisState({ url: server.url, password: fields.password ?? PASSWORD, prefix: fields.prefix, commandTimeoutMs: 300, probeIntervalMs: 100 });
    await redis.start();
    opened.push(redis);
    return { redis, ledger: new RedisLimits(redis), trades: new RedisTradeState(redis, { lockTtlMs: fields.lockTtlMs, lockTimeoutMs: 5_000 }) };
  };

  before(async () => {
    server = await RedisServer.start({ password: PASSWORD });
    setLogSink((line) => logs.push(line));
  });
  after(async () => {
    setLogSink((line) => process.stderr.write(line + '\n'));
    for (const r of opened) await r.close();
    await server.dispose();
  });

  it('stopped: every operation refused at once; back: it recovers by itself with the data kept', async () => {
    const { redis, ledger } = await open({ prefix: 'outage:' });
    const changes: boolean[] = [];
    redis.onChange((up) => changes.push(up));
    const { reservation } = await ledger.decideAndReserve('k', 'HKD', new Date(), () => ({ outcome: null, reserveValue: 500 }));
    await ledger.commit(reservation!);
    await server.stop();
    const started = Date.now();
    await assert.rejects(ledger.usage('k'), unavailable);
    await assert.rejects(ledger.decideAndReserve('k', 'HKD', new Date(), () => ({ outcome: null, reserveValue: 1 })), unavailable);
    await assert.rejects(ledger.assertAvailable(), unavailable);
    assert.ok(Date.now() - started < 1_000, 'refused without waiting for Redis');
    assert.equal(redis.isUp, false);
    await server.start();
    for (let i = 0; i < 100 && !redis.isUp; i++) await sleep(50);
    assert.equal(redis.isUp, true, 'recovered without a restart');
    assert.deepEqual(await ledger.usage('k'), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 500 });
    assert.deepEqual(changes, [false, true]);
  });

  it('down at start: the replica starts, refuses trades, and comes up by itself when Redis does', async () => {
    await server.stop();
    let redis: RedisState | undefined;
    try {
      ({ redis } = await open({ prefix: 'late:' }));
      assert.equal(redis.isUp, false);
      await assert.rejects(new RedisLimits(redis).assertAvailable(), unavailable);
    } finally {
      await server.start();
    }
    for (let i = 0; i < 100 && !redis.isUp; i++) await sleep(50);
    assert.equal(redis.isUp, true);
    await new RedisLimits(redis).assertAvailable();
  });

  it('hung (no answer): refused after the command timeout, fine again when it answers', async () => {
    const { ledger } = await open({ prefix: 'hung:' });
    await ledger.usage('k');
    server.pause();
    try {
      const started = Date.now();
      await assert.rejects(ledger.usage('k'), unavailable);
      const waited = Date.now() - started;
      assert.ok(waited >= 250 && waited < 2_000, `refused after the 300 ms timeout (${waited} ms)`);
    } finally {
      server.resume();
    }
    for (let i = 0; i < 100; i++) {
      if (await ledger.usage('k').then(() => true, () => false)) break;
      await sleep(50);
    }
    assert.deepEqual(await ledger.usage('k'), { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 });
  });

  it('a lock whose holder was cut off lapses after its TTL; a live holder keeps it by renewing', async () => {
    const holder = await open({ prefix: 'locks:', lockTtlMs: 300 });
    const other = await open({ prefix: 'locks:', lockTtlMs: 300 });
    let release!: () => void;
    const held = holder.trades.withLock('sell', () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    // Renewed: still held well past its TTL.
    let taken = false;
    const waiting = other.trades.withLock('sell', async () => void (taken = true));
    await sleep(900);
    assert.equal(taken, false, 'a live holder keeps its lock');
    // Cut off (as if killed): no renewal, no release.
    await holder.redis.close();
    const cutAt = Date.now();
    await waiting;
    assert.ok(Date.now() - cutAt < 2_000, 'the lock lapsed after its TTL');
    release();
    await held.catch(() => undefined);
  });

  it('a wrong password: refused as unavailable, and the password is never logged', async () => {
    const { redis, ledger } = await open({ prefix: 'wrong:', password: `${PASSWORD}-wrong` });
    assert.equal(redis.isUp, false);
    await assert.rejects(ledger.usage('k'), (err: unknown) => err instanceof AuthzError && err.code === 'STATE_STORE_UNAVAILABLE' && !String((err as Error).message).includes('wrong'));
    assert.ok(logs.some((l) => l.includes('not reachable')), 'the failure is logged');
    assert.deepEqual(logs.filter((l) => l.includes(PASSWORD)), []);
  });

  it('the ACL user SECURITY.md gives futu-mcp is enough for every operation, and confined to its prefix', async () => {
    const admin = new Redis({ port: server.port, password: PASSWORD });
    try {
      // The exact rule SECURITY.md prints, with the prefix and password filled in.
      await admin.call('ACL', 'SETUSER', 'futu-mcp', 'on', '>acl-Pw-55', '~acl:*', 'resetchannels', '-@all', '+@read', '+@write', '+@scripting', '+ping', '+time', '+client|setname', '+auth', '+hello', '+select', '-keys', '-flushdb', '-flushall');
    } finally {
      admin.disconnect();
    }
    const redis = new RedisState({ url: server.url.replace('redis://', 'redis://futu-mcp:acl-Pw-55@'), prefix: 'acl:', commandTimeoutMs: 1_000 });
    await redis.start();
    opened.push(redis);
    assert.equal(redis.isUp, true);
    const ledger = new RedisLimits(redis);
    const trades = new RedisTradeState(redis);
    const { reservation } = await ledger.decideAndReserve('k', 'HKD', new Date(), () => ({ outcome: null, reserveValue: 10 }));
    await ledger.commit(reservation!);
    assert.equal((await ledger.usage('k')).dailyValue, 10);
    await trades.withLock('sell', async () => trades.recordOwner({ env: 'simulate', accId: '1', orderId: '2' }, { keyId: 'k', tag: 't', day: '2026-12-03', placedAt: 1 }));
    assert.deepEqual(await trades.unresolvedIntents(), []);
    const confined = new Redis({ port: server.port, username: 'futu-mcp', password: 'acl-Pw-55' });
    try {
      await assert.rejects(confined.get('outage:anything'), /NOPERM/);
      await assert.rejects(confined.keys('*'), /NOPERM/);
    } finally {
      confined.disconnect();
    }
  });

  it('futucli policy explain --redis sees the usage the replicas recorded, and refuses when Redis is down', async (t) => {
    const dir = tempDir(t);
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [makeKey({ id: 'claude-bot', limits: { allowed_markets: ['HK'], max_order_value: 50_000, max_daily_value: 100_000 } })]);
    const { ledger } = await open({ prefix: 'explain:' });
    for (const value of [3_000_000, 4_000_000]) {
      const { reservation } = await ledger.decideAndReserve('claude-bot', 'HKD', new Date(), () => ({ outcome: null, reserveValue: value }));
      await ledger.commit(reservation!);
    }
    const args = ['--key', 'claude-bot', '--tool', 'futu_place_order', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 301, acc_id: '1001' })];
    const explain = () =>
      runFutucli(['-o', 'json', '--keys-file', keysFile, 'policy', 'explain', '--state-dir', join(dir, 'state'), '--redis', server.url, '--redis-prefix', 'explain:', '--redis-timeout', '500ms', ...args], {
        env: { FUTU_MCP_REDIS_PASSWORD: PASSWORD },
      });
    const seen = explain();
    assert.equal(seen.status, 1, 'denied: ' + seen.stderr);
    const explanation = JSON.parse(seen.stdout);
    assert.deepEqual([explanation.request.context.ordersLastMinute, explanation.request.context.projectedDailyValue], [3, 10_010_000]);
    assert.equal(explanation.code, 'LIMIT_EXCEEDED', 'HKD 70,000 used + HKD 30,100 is over the HKD 100,000 a day');
    await server.stop();
    try {
      const down = explain();
      assert.equal(down.status, 1);
      assert.equal(JSON.parse(down.stdout).code, 'STATE_STORE_UNAVAILABLE', down.stdout + down.stderr);
      assert.ok(!`${down.stdout}${down.stderr}`.includes(PASSWORD));
    } finally {
      await server.start();
    }
  });

  it("a confirmation lives its approval lifetime plus a day on Redis's clock and keeps that TTL when answered; a halt never expires; its queued event does", async () => {
    const { trades } = await open({ prefix: 'ttl:' });
    const id = random128();
    const summary = { tool: 'futu_unlock_trade', keyId: 'k', env: null, accId: null, order: 'unlock real trading', value: null, limitValue: null, reasons: [] };
    // The caller's clock is far from Redis's (a simulator clock): the TTL is a duration, not a date.
    const createdAt = Date.parse('2001-01-01T00:00:00Z');
    await trades.createConfirmation({ version: 1, id, keyId: 'k', keyVersion: 'v', tool: 'futu_unlock_trade', digest: 'd', value: 0, currency: 'HKD', summary, state: 'pending', createdAt, expiresAt: createdAt + 300_000, pageToken: random128() });
    await trades.setHalt({ keyId: null, reason: 'r', since: 1 });
    const raw = new Redis({ port: server.port, password: PASSWORD });
    try {
      const day = 24 * 60 * 60 * 1000;
      const ttl = await raw.pttl(`ttl:confirmation:${id}`);
      assert.ok(ttl > day + 290_000 && ttl <= day + 300_000, String(ttl));
      await trades.transitionConfirmation(id, 'pending', (c) => ({ ...c, state: 'approved' }));
      const kept = await raw.pttl(`ttl:confirmation:${id}`);
      assert.ok(kept > day + 280_000 && kept <= ttl, `answered: ${kept}`);
      assert.equal(await raw.pttl('ttl:halts'), -1);
      // The halt's event waits for a server to audit it: a week at most.
      const queued = await raw.pttl('ttl:human-events');
      assert.ok(queued > 6 * day && queued <= 7 * day, `human events: ${queued}`);
    } finally {
      raw.disconnect();
    }
  });

  it('futucli halt, resume, approve --redis: refused STATE_STORE_UNAVAILABLE while Redis is down, the password never printed; back up, halt works', async (t) => {
    const dir = tempDir(t);
    const { redis, trades } = await open({ prefix: 'cli:' });
    const cli = (...args: string[]) =>
      runFutucli(['-o', 'json', ...args, '--state-dir', join(dir, 'state'), '--redis', server.url.replace('redis://', `redis://:${PASSWORD}@`), '--redis-prefix', 'cli:', '--redis-timeout', '500ms']);
    await server.stop();
    try {
      for (const args of [['halt', '--reason', 'down'], ['resume'], ['approve', random128(), '--yes']]) {
        const refused = cli(...args);
        assert.equal(refused.status, 1, args.join(' '));
        assert.equal(JSON.parse(refused.stdout).error.code, 'STATE_STORE_UNAVAILABLE', refused.stdout);
        assert.ok(!`${refused.stdout}${refused.stderr}`.includes(PASSWORD), `${args[0]} never prints the password`);
      }
    } finally {
      await server.start();
    }
    for (let i = 0; i < 100 && !redis.isUp; i++) await sleep(50);
    const halted = cli('halt', '--key', 'bot', '--reason', 'after the outage');
    assert.equal(halted.status, 0, halted.stdout + halted.stderr);
    assert.deepEqual((await trades.halts()).map((h) => [h.keyId, h.reason]), [['bot', 'after the outage']]);
    assert.equal(JSON.parse(cli('resume', '--key', 'bot').stdout).lifted, true);
    assert.deepEqual(await trades.halts(), []);
  });
});
