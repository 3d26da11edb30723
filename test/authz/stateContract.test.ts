/**
 * One contract for the shared state, run against both implementations: the state directory
 * (LimitsLedger + FileTradeState) and Redis (RedisLimits + RedisTradeState against a real
 * redis-server of the test's own). "Another process" is a second store instance opened on the
 * same state: a second object on the same directory, or a second Redis connection.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Authorizer, type TradeInput } from '../../src/authz/authorizer.js';
import { AuthzError } from '../../src/authz/errors.js';
import { FileTradeState } from '../../src/authz/fileTradeState.js';
import { random128, type Confirmation } from '../../src/authz/humanState.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { utcDay } from '../../src/authz/ledgerState.js';
import type { LimitsStore } from '../../src/authz/limits.js';
import { intentIdentity } from '../../src/authz/orderTag.js';
import { RedisLimits } from '../../src/authz/redisLimits.js';
import { RedisState } from '../../src/authz/redisState.js';
import { OrderReconciler, type Resolution } from '../../src/authz/reconciler.js';
import { RedisTradeState } from '../../src/authz/redisTradeState.js';
import type { OrderIntent, TradeStateStore } from '../../src/authz/tradeState.js';
import { RedisServer } from '../helpers/service.js';
import { caller, makeKey, shippedEngine } from './fixtures.js';
import { REDIS, serviceGate, type ServiceGate } from '../helpers/systemService.js';

interface Stores {
  readonly ledger: LimitsStore;
  readonly trades: TradeStateStore;
  close(): Promise<void>;
}

interface Implementation {
  readonly gate: ServiceGate;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh, empty shared state for one test; `open` then opens it as many processes as asked. */
  fresh(): void;
  open(options?: { reservationTtlMs?: number }): Promise<Stores>;
  /** Writes the intent as a holder that is gone right after (a killed process or replica). */
  writeAsGoneHolder(intent: OrderIntent): Promise<void>;
  /** Takes the shared state away for real (Redis stopped; the state directory's trade state made unreadable)... */
  outage(): Promise<void>;
  /** ...and gives it back with its data. */
  recover(): Promise<void>;
}

function fileImplementation(): Implementation {
  let root = '';
  let dir = '';
  let n = 0;
  return {
    gate: { name: 'state directory', skip: false },
    setUp: async () => void (root = mkdtempSync(join(tmpdir(), 'futu-contract-'))),
    tearDown: async () => rmSync(root, { recursive: true, force: true }),
    fresh: () => void (dir = join(root, `t${++n}`)),
    open: async (options = {}) => ({
      ledger: new LimitsLedger({ stateDir: dir, reservationTtlMs: options.reservationTtlMs }),
      trades: new FileTradeState({ stateDir: dir }),
      close: async () => undefined,
    }),
    writeAsGoneHolder: async (intent) => {
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      await new FileTradeState({ stateDir: dir }).putIntent({ ...intent, pid: gone });
    },
    // A file where the trade state's directory was: every read and write fails (ENOTDIR).
    outage: async () => {
      renameSync(join(dir, 'trades'), join(dir, 'trades.away'));
      writeFileSync(join(dir, 'trades'), '');
    },
    recover: async () => {
      rmSync(join(dir, 'trades'));
      renameSync(join(dir, 'trades.away'), join(dir, 'trades'));
    },
  };
}

function redisImplementation(): Implementation {
  let server: RedisServer | undefined;
  let prefix = '';
  let n = 0;
  const open = async (options: { reservationTtlMs?: number } = {}): Promise<Stores> => {
    const redis = new RedisState({ url: server!.url, prefix });
    await redis.start();
    return { ledger: new RedisLimits(redis, options), trades: new RedisTradeState(redis), close: () => redis.close() };
  };
  return {
    gate: serviceGate('Redis', REDIS),
    setUp: async () => void (server = await RedisServer.start()),
    tearDown: async () => server?.dispose(),
    fresh: () => void (prefix = `contract${++n}:`),
    open,
    writeAsGoneHolder: async (intent) => {
      const peer = await open();
      await peer.trades.putIntent(intent);
      await peer.close();
    },
    outage: () => server!.stop(),
    recover: () => server!.start(),
  };
}

const KEY = 'contract-key';

function intent(fields: Partial<OrderIntent> & { clientOrderId?: string | null } = {}): OrderIntent {
  const { id, tag } = intentIdentity(fields.keyId ?? KEY, fields.clientOrderId ?? undefined);
  return {
    version: 1,
    id,
    tag,
    keyId: KEY,
    clientOrderId: null,
    argsDigest: 'digest-1',
    env: 'simulate',
    accId: '1001',
    trdMarket: 'HK',
    symbol: 'HK.00700',
    value: 3_000_000,
    currency: 'HKD',
    day: utcDay(new Date()),
    state: 'claimed',
    pid: process.pid,
    createdAt: Date.now(),
    ...fields,
  };
}

/** Everything but the holder stamp a shared store adds. */
function withoutHolder(i: OrderIntent | undefined): Omit<OrderIntent, 'holder'> | undefined {
  if (!i) return undefined;
  const { holder: _holder, ...rest } = i;
  return rest;
}

/** Reserves `value` if it fits under `cap` (the decision a daily limit makes). */
function reserveUnder(ledger: LimitsStore, cap: number, value: number, keyId = KEY, rateKind: 'order' | 'cancel' = 'order') {
  return ledger.decideAndReserve(keyId, 'HKD', new Date(), (usage) => ({ outcome: usage, reserveValue: usage.dailyValue + value <= cap ? value : null }), rateKind);
}

function confirmation(fields: Partial<Confirmation> = {}): Confirmation {
  const createdAt = Date.now();
  return {
    version: 1,
    id: random128(),
    keyId: KEY,
    keyVersion: 'key-version-1',
    tool: 'futu_place_order',
    digest: 'd'.repeat(64),
    value: 3_000_000,
    currency: 'HKD',
    summary: { tool: 'futu_place_order', keyId: KEY, env: 'real', accId: '1001', order: 'BUY 100 HK.00700 @ 300 HKD (LIMIT)', value: 'HKD 30,000.00', limitValue: null, reasons: ['real orders need a human'] },
    state: 'pending',
    createdAt,
    expiresAt: createdAt + 300_000,
    pageToken: random128(),
    ...fields,
  };
}

/** Retries `read` until the store answers again (a restarted Redis is reconnected to within a second or so). */
async function whenBack<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 100) throw err;
      await sleep(100);
    }
  }
}

const isStateError = (code: string) => (err: unknown) => err instanceof AuthzError && err.code === code;

for (const impl of [fileImplementation(), redisImplementation()]) {
  describe(`shared state contract: ${impl.gate.name}`, { skip: impl.gate.skip }, () => {
    const opened: Stores[] = [];
    const open = async (options?: { reservationTtlMs?: number }) => {
      const stores = await impl.open(options);
      opened.push(stores);
      return stores;
    };
    before(() => impl.setUp());
    after(async () => {
      for (const s of opened) await s.close();
      await impl.tearDown();
    });

    describe('limits', () => {
      it('a reservation counts until released; a commit keeps it; each settles once; the attempt stays', async () => {
        impl.fresh();
        const { ledger } = await open();
        const a = await reserveUnder(ledger, 1_000, 100);
        const b = await reserveUnder(ledger, 1_000, 50);
        assert.deepEqual(b.outcome, { ordersBefore: 1, cancelsBefore: 0, dailyValue: 100 });
        await ledger.commit(a.reservation!);
        await ledger.commit(a.reservation!);
        await ledger.release(a.reservation!);
        await ledger.release(b.reservation!);
        assert.deepEqual(await ledger.usage(KEY, new Date()), { ordersBefore: 2, cancelsBefore: 0, dailyValue: 100 });
      });

      it('a denied call records nothing; a cancel counts in its own window; keys are apart', async () => {
        impl.fresh();
        const { ledger } = await open();
        const denied = await reserveUnder(ledger, 10, 100);
        assert.equal(denied.reservation, null);
        await reserveUnder(ledger, 1_000, 0, KEY, 'cancel');
        await reserveUnder(ledger, 1_000, 70, 'other-key');
        assert.deepEqual(await ledger.usage(KEY, new Date()), { ordersBefore: 0, cancelsBefore: 1, dailyValue: 0 });
        assert.deepEqual(await ledger.usage('other-key', new Date()), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 70 });
      });

      it('60 parallel reservations over two processes against a cap of 10: exactly 10 fit', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const calls = Array.from({ length: 60 }, (_, i) => reserveUnder((i % 2 ? one : two).ledger, 1_000, 100));
        const results = await Promise.all(calls);
        const reserved = results.filter((r) => r.reservation !== null);
        assert.equal(reserved.length, 10);
        await Promise.all(reserved.map((r, i) => (i % 2 ? one : two).ledger.commit(r.reservation!)));
        assert.equal((await one.ledger.usage(KEY, new Date())).dailyValue, 1_000);
        assert.equal((await two.ledger.usage(KEY, new Date())).ordersBefore, 10);
      });

      it('a reservation never settled (its process killed) stops counting after its TTL; a late commit still counts', async () => {
        impl.fresh();
        const { ledger } = await open({ reservationTtlMs: 300 });
        const { reservation } = await reserveUnder(ledger, 1_000, 400);
        assert.equal((await ledger.usage(KEY, new Date())).dailyValue, 400);
        await sleep(450);
        assert.equal((await ledger.usage(KEY, new Date())).dailyValue, 0);
        await ledger.commit(reservation!);
        assert.equal((await ledger.usage(KEY, new Date())).dailyValue, 400, 'the order exists, so its value does');
      });

      it('refund and commitValue touch only the day they name; a refund never goes below zero', async () => {
        impl.fresh();
        const { ledger } = await open();
        const today = utcDay(new Date());
        await ledger.commitValue(KEY, 'HKD', 500, today);
        await ledger.commitValue(KEY, 'HKD', 900, '2000-01-01');
        await ledger.refund(KEY, 200, today);
        await ledger.refund(KEY, 300, '2000-01-01');
        assert.equal((await ledger.usage(KEY, new Date())).dailyValue, 300);
        await ledger.refund(KEY, 10_000, today);
        assert.equal((await ledger.usage(KEY, new Date())).dailyValue, 0);
        await assert.rejects(ledger.refund(KEY, -1, today), isStateError('LEDGER_ERROR'));
      });

      it('a key whose limit currency changed mid-day is refused (LEDGER_ERROR)', async () => {
        impl.fresh();
        const { ledger } = await open();
        await ledger.commit((await reserveUnder(ledger, 1_000, 100)).reservation!);
        await assert.rejects(
          ledger.decideAndReserve(KEY, 'USD', new Date(), () => ({ outcome: null, reserveValue: 1 })),
          (err: unknown) => isStateError('LEDGER_ERROR')(err) && /recorded in HKD/.test((err as Error).message),
        );
      });

      it('the next order slot: now while under the cap; at the cap, when the attempt that fills it leaves the 60 s window', async () => {
        impl.fresh();
        const { ledger } = await open();
        const before = Date.now();
        assert.ok((await ledger.nextOrderSlot(KEY, new Date(), 2)) >= before);
        await reserveUnder(ledger, 1_000, 10);
        const firstBy = Date.now();
        await reserveUnder(ledger, 1_000, 10);
        await reserveUnder(ledger, 1_000, 0, KEY, 'cancel');
        const now = Date.now();
        assert.ok((await ledger.nextOrderSlot(KEY, new Date(), 3)) <= Date.now() + 5, 'two orders under a cap of 3: now');
        const slot = await ledger.nextOrderSlot(KEY, new Date(), 2);
        assert.ok(slot >= before + 60_000 && slot <= firstBy + 60_000 + 5, `the first order leaves the window a minute after it was made (${slot - now} ms from now)`);
        const second = await ledger.nextOrderSlot(KEY, new Date(), 1);
        assert.ok(second >= slot && second <= now + 60_000 + 5, 'a cap of 1 waits for the second order to leave');
      });

      it('is available', async () => {
        impl.fresh();
        await (await open()).ledger.assertAvailable();
      });
    });

    describe('trade state', () => {
      it('a client_order_id intent is claimed once, also by two processes in parallel; dropped, it can be claimed again', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const first = intent({ clientOrderId: 'retry-1' });
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).trades.claimIntent(first)));
        assert.equal(claims.filter((c) => c.claimed).length, 1);
        const refused = claims.find((c) => !c.claimed) as { existing: OrderIntent };
        assert.deepEqual(withoutHolder(refused.existing), first);
        await two.trades.dropIntent(first.id);
        assert.equal(await one.trades.getIntent(first.id), undefined);
        assert.deepEqual(await one.trades.claimIntent(first), { claimed: true });
      });

      it('putIntent replaces; a placed intent keeps its result for replays', async () => {
        impl.fresh();
        const { trades } = await open();
        const claimed = intent({ clientOrderId: 'replay-1' });
        await trades.claimIntent(claimed);
        const placed: OrderIntent = { ...claimed, state: 'placed', orderId: '42', result: { order_id: '42', status: 'SUBMITTED' } };
        await trades.putIntent(placed);
        assert.deepEqual(withoutHolder(await trades.getIntent(claimed.id)), placed);
        assert.deepEqual(await trades.unresolvedIntents(), []);
      });

      it('unresolved: unknown outcomes and intents whose holder is gone; not a live holder\'s, not settled ones', async () => {
        impl.fresh();
        const [{ trades }, peer] = [await open(), await open()];
        const unknown = intent({ state: 'unknown' });
        const live = intent({ state: 'sending' });
        const orphan = intent({ state: 'sending' });
        const refused = intent({ state: 'refused', clientOrderId: 'refused-1', error: { code: 'OPEND_ERROR', message: 'no' } });
        for (const i of [unknown, refused]) await trades.putIntent(i);
        // Another live process's call, still running.
        await peer.trades.putIntent(live);
        await impl.writeAsGoneHolder(orphan);
        const ids = (await trades.unresolvedIntents()).map((i) => i.id).sort();
        assert.deepEqual(ids, [unknown.id, orphan.id].sort());
        assert.equal(await trades.isUnresolved((await trades.getIntent(live.id))!), false);
        assert.equal(await trades.isUnresolved((await trades.getIntent(orphan.id))!), true);
        await trades.dropIntent(unknown.id);
        assert.deepEqual((await trades.unresolvedIntents()).map((i) => i.id), [orphan.id]);
      });

      it('an intent this store wrote is running while a call holds it (a retry\'s hold too); once no call does and it is still sending, it is unresolved', async () => {
        impl.fresh();
        const [{ trades }, peer] = [await open(), await open()];
        const mine = intent({ state: 'claimed', clientOrderId: 'held-1' });
        let release!: () => void;
        const retryHeld = new Promise<void>((resolve) => (release = resolve));
        let retry: Promise<void> | undefined;
        await trades.holdIntent(mine.id, async () => {
          await trades.claimIntent(mine);
          await trades.putIntent({ ...mine, state: 'sending' });
          assert.equal(await trades.isUnresolved((await trades.getIntent(mine.id))!), false, 'running while its call holds it');
          assert.deepEqual(await peer.trades.unresolvedIntents(), [], 'a live holder\'s, for another process');
          retry = trades.holdIntent(mine.id, () => retryHeld);
        });
        // The first call ended without writing its outcome; a retry of it in this process still holds the id.
        assert.equal(await trades.isUnresolved((await trades.getIntent(mine.id))!), false);
        release();
        await retry;
        assert.deepEqual((await trades.unresolvedIntents()).map((i) => i.id), [mine.id], 'no call holds it: left to reconciliation');
        assert.deepEqual(await peer.trades.unresolvedIntents(), [], 'another process leaves it to its live holder');
      });

      it('an order has one owner: recorded again by the same key it stays, another owner is refused', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const order = { env: 'simulate' as const, accId: '1001', orderId: '777' };
        const owner = { keyId: KEY, tag: 'fmcp:aa:bb', day: utcDay(new Date()), placedAt: 1 };
        assert.equal(await one.trades.ownerOf(order), undefined);
        await one.trades.recordOwner(order, owner);
        await two.trades.recordOwner(order, owner);
        assert.deepEqual(await two.trades.ownerOf(order), owner);
        await assert.rejects(two.trades.recordOwner(order, { ...owner, keyId: 'thief' }), isStateError('STATE_STORE_UNAVAILABLE'));
        assert.equal(await one.trades.ownerOf({ ...order, env: 'real' }), undefined);
      });

      it('a lock admits one holder at a time across processes, and is released when the work throws', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        let inside = 0;
        let most = 0;
        const work = async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(3);
          inside--;
        };
        await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? one : two).trades.withLock('sell\0simulate\u00001001\0HK.00700', work)));
        assert.equal(most, 1);
        await assert.rejects(one.trades.withLock('x', async () => Promise.reject(new Error('boom'))), /boom/);
        assert.equal(await two.trades.withLock('x', async () => 'free again'), 'free again');
      });
    });
    describe('trade path over the store', () => {
      it('an order OpenD accepted while the store failed: the call succeeds; once it has ended and the store is back, its own process reconciles it (owner recorded, value counted at least once)', async () => {
        impl.fresh();
        const { ledger, trades } = await open();
        const k = makeKey({ limits: { max_daily_value: 100_000 } });
        // OpenD: the orders it holds, by remark tag.
        const atOpenD = new Map<string, string>();
        const resolutions: Resolution[] = [];
        const reconciler = new OrderReconciler({
          trades,
          ledger,
          lookup: { find: async (i) => (atOpenD.has(i.tag) ? { orderId: atOpenD.get(i.tag)!, result: {} } : undefined) },
          onResolved: (r) => void resolutions.push(r),
        });
        reconciler.stop();
        const authz = new Authorizer({ engine: shippedEngine(), ledger, trades, reconciler });
        const input: TradeInput = {
          ...caller(k, new Date()),
          env: 'simulate',
          account: '1001',
          terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 100, price: 100 },
        };
        const run = await authz.runTrade(
          input,
          {
            send: async ({ tag }) => {
              atOpenD.set(tag!, '9001');
              // The store goes away between OpenD's answer and the bookkeeping.
              await impl.outage();
              return { order_id: '9001' };
            },
          },
          { orderIdOf: (r) => r.order_id },
        );
        assert.deepEqual(run.result, { order_id: '9001' }, 'the order stands: the call reports it');
        await impl.recover();
        const left = await whenBack(() => trades.unresolvedIntents());
        assert.deepEqual(left.map((i) => [i.tag, i.state]), [[[...atOpenD.keys()][0], 'sending']], 'its intent is left to reconciliation');
        await reconciler.reconcileAll();
        assert.deepEqual(resolutions.map((r) => [r.resolution, r.orderId]), [['placed', '9001']]);
        assert.equal((await trades.ownerOf({ env: 'simulate', accId: '1001', orderId: '9001' }))?.keyId, k.id, 'the key owns its order');
        assert.deepEqual(await trades.unresolvedIntents(), []);
        const used = (await ledger.usage(k.id, new Date())).dailyValue;
        if (impl.gate.name === 'Redis') {
          // The call's commit waited for Redis; reconciliation committed the same reservation: once in all.
          assert.equal(used, 1_000_000);
        } else {
          // The state dir's ledger stayed up and committed; reconciliation cannot tell and commits again: over, never under.
          assert.ok(used >= 1_000_000 && used <= 2_000_000, `counted ${used}`);
        }
      });
    });

    describe('human in the loop', () => {
      it('a confirmation is stored once and read by every process; an unknown or malformed id reads as none', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const asked = confirmation();
        await one.trades.createConfirmation(asked);
        assert.deepEqual(await two.trades.getConfirmation(asked.id), asked);
        await assert.rejects(two.trades.createConfirmation({ ...asked, keyId: 'thief' }), isStateError('STATE_STORE_UNAVAILABLE'));
        assert.deepEqual(await one.trades.getConfirmation(asked.id), asked, 'the first record stands');
        assert.equal(await one.trades.getConfirmation(random128()), undefined);
        assert.equal(await one.trades.getConfirmation('../../etc/passwd'), undefined);
        assert.equal(await one.trades.transitionConfirmation(random128(), 'pending', (c) => ({ ...c, state: 'approved' })), undefined);
      });

      it('a transition is a compare-and-set: from another state nothing changes and the record is returned as it stands', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const asked = confirmation();
        await one.trades.createConfirmation(asked);
        const approved = await two.trades.transitionConfirmation(asked.id, 'pending', (c) => ({ ...c, state: 'approved', answeredAt: 5, answeredBy: 'cli', id: 'ignored' }));
        const expected: Confirmation = { ...asked, state: 'approved', answeredAt: 5, answeredBy: 'cli' };
        assert.deepEqual(approved, { changed: true, current: expected }, 'the id and version are the record\'s own');
        assert.deepEqual(await one.trades.transitionConfirmation(asked.id, 'pending', (c) => ({ ...c, state: 'rejected' })), { changed: false, current: expected });
        assert.deepEqual(await one.trades.getConfirmation(asked.id), expected);
      });

      it('20 answers racing over two processes (approve against reject): exactly one wins; then 12 uses racing: exactly one', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const asked = confirmation();
        await one.trades.createConfirmation(asked);
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? one : two).trades.transitionConfirmation(asked.id, 'pending', (c) => ({ ...c, state: i % 4 < 2 ? 'approved' : 'rejected', answeredAt: i })),
          ),
        );
        const winners = answers.filter((a) => a?.changed);
        assert.equal(winners.length, 1);
        const stored = await one.trades.getConfirmation(asked.id);
        assert.deepEqual(stored, winners[0]!.current);
        for (const lost of answers.filter((a) => !a?.changed)) assert.deepEqual(lost?.current, stored, 'every loser is told what won');

        const approved = confirmation();
        await two.trades.createConfirmation(approved);
        await one.trades.transitionConfirmation(approved.id, 'pending', (c) => ({ ...c, state: 'approved' }));
        const uses = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? one : two).trades.transitionConfirmation(approved.id, 'approved', (c) => ({ ...c, state: 'used', usedAt: i }))));
        assert.equal(uses.filter((u) => u?.changed).length, 1, 'an approval is used once');
        assert.equal((await two.trades.getConfirmation(approved.id))?.state, 'used');
      });

      it('halts: one per key and one for all keys, set through one process and seen by the other; set again replaces; clear says whether there was one', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        assert.deepEqual(await two.trades.halts(), []);
        await one.trades.setHalt({ keyId: null, reason: 'desk review', since: 1 });
        await one.trades.setHalt({ keyId: 'bot', reason: 'runaway', since: 2 });
        await two.trades.setHalt({ keyId: 'bot', reason: 'runaway, again', since: 3 });
        const byKey = (halts: { keyId: string | null }[]) => [...halts].sort((a, b) => String(a.keyId).localeCompare(String(b.keyId)));
        assert.deepEqual(byKey(await one.trades.halts()), [
          { keyId: 'bot', reason: 'runaway, again', since: 3 },
          { keyId: null, reason: 'desk review', since: 1 },
        ]);
        assert.equal(await two.trades.clearHalt(null), true);
        assert.equal(await one.trades.clearHalt(null), false);
        assert.equal(await one.trades.clearHalt('other'), false);
        assert.deepEqual(await two.trades.halts(), [{ keyId: 'bot', reason: 'runaway, again', since: 3 }]);
        assert.equal(await one.trades.clearHalt('bot'), true);
        assert.deepEqual(await two.trades.halts(), []);
      });

      it('one clock for confirmations: every process reads the same shared clock (Redis TIME with Redis)', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const [a, b, c] = [await one.trades.now(), await two.trades.now(), await one.trades.now()];
        assert.ok(Number.isSafeInteger(a) && a > Date.parse('2020-01-01'), String(a));
        assert.ok(a <= b && b <= c, `${a} ${b} ${c}: read in this order, so never backwards`);
      });

      it('confirmations due: pending and approved ones past their expiry, by the shared clock; not live ones, not answered-and-done ones', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const past = { createdAt: 1, expiresAt: 2 };
        const duePending = confirmation(past);
        const dueApproved = confirmation(past);
        const rejected = confirmation(past);
        const used = confirmation(past);
        const live = confirmation();
        for (const c of [duePending, dueApproved, rejected, used, live]) await one.trades.createConfirmation(c);
        await two.trades.transitionConfirmation(dueApproved.id, 'pending', (c) => ({ ...c, state: 'approved' }));
        await two.trades.transitionConfirmation(rejected.id, 'pending', (c) => ({ ...c, state: 'rejected' }));
        await two.trades.transitionConfirmation(used.id, 'pending', (c) => ({ ...c, state: 'approved' }));
        await two.trades.transitionConfirmation(used.id, 'approved', (c) => ({ ...c, state: 'used' }));
        const ids = async (store: TradeStateStore) => (await store.confirmationsDue()).map((c) => c.id).sort();
        assert.deepEqual(await ids(two.trades), [duePending.id, dueApproved.id].sort());
        // Two processes sweeping at once: each expiry is moved (and so audited) by exactly one.
        const sweeps = await Promise.all([one, two, one, two].map(async ({ trades }) => {
          const moved: string[] = [];
          for (const due of await trades.confirmationsDue()) if ((await trades.transitionConfirmation(due.id, due.state, (c) => ({ ...c, state: 'expired' })))?.changed) moved.push(due.id);
          return moved;
        }));
        assert.deepEqual(sweeps.flat().sort(), [duePending.id, dueApproved.id].sort());
        assert.deepEqual(await ids(one.trades), [], 'an expired one is not due again');
        assert.equal((await one.trades.getConfirmation(dueApproved.id))?.state, 'expired');
      });

      it('human events: halts and resumes queue themselves; a drain hands them over oldest first, once, and keeps them when the audit fails', async () => {
        impl.fresh();
        const [one, two] = [await open(), await open()];
        const approved = { kind: 'approved', at: 10, confirmationId: random128(), keyId: KEY, tool: 'futu_place_order', digest: 'd'.repeat(64) } as const;
        await one.trades.recordHumanEvent(approved);
        await one.trades.setHalt({ keyId: 'bot', reason: 'runaway', since: 11 });
        assert.equal(await two.trades.clearHalt('bot'), true);
        assert.equal(await two.trades.clearHalt('bot'), false, 'nothing lifted, nothing queued');
        await assert.rejects(two.trades.drainHumanEvents(async () => Promise.reject(new Error('audit log full'))), /audit log full/);
        const seen: unknown[] = [];
        const collect = async (events: readonly unknown[]) => void seen.push(...events);
        // Two processes draining at once: every event goes to exactly one of them.
        const counts = await Promise.all([one.trades.drainHumanEvents(collect, 2), two.trades.drainHumanEvents(collect, 2)]);
        assert.equal(counts[0] + counts[1], 3);
        assert.deepEqual(seen.slice(0, 1), [approved], 'oldest first');
        assert.deepEqual(seen.map((e) => (e as { kind: string }).kind).sort(), ['approved', 'halt', 'resume']);
        const halt = seen.find((e) => (e as { kind: string }).kind === 'halt');
        assert.deepEqual(halt, { kind: 'halt', at: 11, keyId: 'bot', reason: 'runaway' });
        assert.equal(await one.trades.drainHumanEvents(collect), 0, 'nothing is handed over twice');
      });

      it('store down: no confirmation read, created or answered and no halt list (STATE_STORE_UNAVAILABLE); back, nothing was approved and the halt holds', async () => {
        impl.fresh();
        const { trades } = await open();
        const asked = confirmation();
        await trades.createConfirmation(asked);
        await trades.setHalt({ keyId: null, reason: 'kill switch', since: 1 });
        await impl.outage();
        try {
          const down = isStateError('STATE_STORE_UNAVAILABLE');
          await assert.rejects(trades.getConfirmation(asked.id), down);
          await assert.rejects(trades.transitionConfirmation(asked.id, 'pending', (c) => ({ ...c, state: 'approved' })), down);
          await assert.rejects(trades.createConfirmation(confirmation()), down);
          await assert.rejects(trades.halts(), down);
          await assert.rejects(trades.clearHalt(null), down);
          await assert.rejects(trades.confirmationsDue(), down);
          await assert.rejects(trades.recordHumanEvent({ kind: 'resume', at: 1, keyId: null }), down);
          await assert.rejects(trades.drainHumanEvents(async () => undefined), down);
        } finally {
          await impl.recover();
        }
        assert.equal((await whenBack(() => trades.getConfirmation(asked.id)))?.state, 'pending');
        assert.deepEqual(await trades.halts(), [{ keyId: null, reason: 'kill switch', since: 1 }]);
      });
    });
  });
}
