import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayError, FutuGateway, type AccountRef } from '../../src/gateway/index.js';
import { OPEND_LIMITS, OPEND_SNAPSHOT_LIMIT, PACING_LIMITS, SnapshotBudget, WritePacer } from '../../src/gateway/pacing.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { TRADE_PWD } from './setup.js';

const rateLimited = (retryAfter?: number) => (err: unknown) =>
  err instanceof GatewayError && err.code === 'GATEWAY_RATE_LIMITED' && (retryAfter === undefined || err.details.retry_after_seconds === retryAfter);

/** A clock running in real time that the test can also jump forward (sleeps stay real). */
function jumpingClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, jump: (ms: number) => (offset += ms) };
}

describe('WritePacer', () => {
  test('keeps OpenD\'s limits plus a safety margin, never looser', () => {
    for (const [operation, opend] of Object.entries(OPEND_LIMITS)) {
      const paced = PACING_LIMITS[operation as keyof typeof PACING_LIMITS];
      assert.equal(paced.limit, opend.limit, operation);
      assert.ok(paced.windowMs > opend.windowMs, operation);
      assert.ok(opend.minGapMs === 0 ? paced.minGapMs === 0 : paced.minGapMs > opend.minGapMs, operation);
    }
  });

  test('one lane writes one at a time, each the minimum gap after the previous answer; other accounts do not wait', async () => {
    const pacer = new WritePacer();
    const events: Array<{ lane: string; start: number; end: number }> = [];
    const write = (lane: string, ms: number) => async () => {
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push({ lane, start, end: performance.now() });
    };
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => pacer.paced('modify', '1001', write('1001', i % 2 ? 30 : 1))),
      pacer.paced('modify', '2002', write('2002', 1)),
    ]);
    const lane = events.filter((e) => e.lane === '1001').sort((a, b) => a.start - b.start);
    assert.equal(lane.length, 6);
    for (let i = 1; i < lane.length; i++) {
      // performance.now() and Date.now() tick differently by up to a millisecond.
      assert.ok(lane[i]!.start - lane[i - 1]!.end >= PACING_LIMITS.modify.minGapMs - 1, `write ${i} starts ${lane[i]!.start - lane[i - 1]!.end} ms after the previous answer`);
    }
    const other = events.find((e) => e.lane === '2002')!;
    assert.ok(other.start < lane[1]!.start, 'another account is not queued behind this one');
  });

  test('withAdmission takes a place in the window before the write: the 16th admission is refused before its work runs; the write inside uses the place; an unused place is given back', async () => {
    const pacer = new WritePacer({ clock: jumpingClock().now });
    let writes = 0;
    const write = async () => void writes++;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // 14 callers admitted and still deciding (nothing written yet), one more admitted that then decides not to write.
    const deciding = Array.from({ length: 14 }, () => pacer.withAdmission('place', '1001', async () => (await held, pacer.paced('place', '1001', write))));
    const gaveUp = pacer.withAdmission('place', '1001', async () => 'denied before sending');
    let ran = false;
    await assert.rejects(
      pacer.withAdmission('place', '1001', async () => void (ran = true)),
      rateLimited(),
      'every place is taken: refused before its work runs',
    );
    assert.equal(ran, false);
    assert.equal(await gaveUp, 'denied before sending');
    // The unused place came back: one more caller fits, and its write does not take a second place.
    const late = pacer.withAdmission('place', '1001', async () => pacer.paced('place', '1001', write));
    release();
    await Promise.all([...deciding, late]);
    assert.equal(writes, 15);
    await assert.rejects(pacer.paced('place', '1001', write), rateLimited(), 'the window is full now');
    await pacer.withAdmission('modify', '1001', async () => pacer.paced('modify', '1001', write));
    assert.equal(writes, 16, 'another lane has its own places');
  });

  test('PlaceOrder: 15 per 30 s per account; the 16th is refused at once with when to retry, and nothing is written', async () => {
    const clock = jumpingClock();
    const pacer = new WritePacer({ clock: clock.now });
    let writes = 0;
    const write = async () => void writes++;
    const first = Array.from({ length: PACING_LIMITS.place.limit }, () => pacer.paced('place', '1001', write));
    await assert.rejects(pacer.paced('place', '1001', write), rateLimited(Math.ceil(PACING_LIMITS.place.windowMs / 1000)), 'queued writes count against the window');
    await Promise.all(first);
    assert.equal(writes, 15);
    await assert.rejects(pacer.paced('place', '1001', write), rateLimited());
    await pacer.paced('place', '2002', write);
    await pacer.paced('modify', '1001', write);
    clock.jump(PACING_LIMITS.place.windowMs);
    await pacer.paced('place', '1001', write);
    assert.equal(writes, 18, 'refused writes were never written');
  });

  test('liftOpenDLimits (simulator benchmarks only) drops windows and gaps but still writes one at a time per lane', async () => {
    let inFlight = 0;
    let most = 0;
    let writes = 0;
    const write = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      writes++;
    };
    const lifted = new WritePacer({ liftOpenDLimits: true });
    const started = performance.now();
    await Promise.all(Array.from({ length: 3 * OPEND_LIMITS.place.limit }, () => lifted.paced('place', '1001', write)));
    await Promise.all(Array.from({ length: 3 * OPEND_LIMITS.modify.limit }, () => lifted.paced('modify', '1001', write)));
    assert.equal(writes, 3 * (OPEND_LIMITS.place.limit + OPEND_LIMITS.modify.limit));
    assert.equal(most, 1, 'one write of a lane at a time');
    // 105 writes with the gaps kept would take over 3 s.
    assert.ok(performance.now() - started < PACING_LIMITS.modify.minGapMs * 3 * OPEND_LIMITS.modify.limit, 'no minimum gap');

    for (const pacer of [new WritePacer(), new WritePacer({ liftOpenDLimits: false })]) {
      const first = Array.from({ length: PACING_LIMITS.place.limit }, () => pacer.paced('place', '1001', async () => undefined));
      await assert.rejects(pacer.paced('place', '1001', async () => undefined), rateLimited(), 'limits are kept unless lifted');
      await Promise.all(first);
    }
  });

  test('UnlockTrade: 10 per 30 s for the whole OpenD user', async () => {
    const pacer = new WritePacer();
    for (let i = 0; i < OPEND_LIMITS.unlock.limit; i++) await pacer.paced('unlock', '', async () => undefined);
    await assert.rejects(pacer.paced('unlock', '', async () => undefined), rateLimited());
  });

  test('a failed write still counts (OpenD may have received it); a refused one does not', async () => {
    const clock = jumpingClock();
    const pacer = new WritePacer({ clock: clock.now });
    for (let i = 0; i < OPEND_LIMITS.place.limit; i++) {
      await assert.rejects(pacer.paced('place', '1001', async () => Promise.reject(new Error('link lost'))), /link lost/);
    }
    await assert.rejects(pacer.paced('place', '1001', async () => undefined), rateLimited());
  });
});

describe('SnapshotBudget', () => {
  test('one holder takes a third of what reads may use, holders together never the last 10, the server the rest', () => {
    let now = 1_000_000;
    const budget = new SnapshotBudget(() => now);
    for (let i = 0; i < 16; i++) budget.take('a');
    assert.throws(() => budget.take('a'), rateLimited(31));
    for (let i = 0; i < 16; i++) budget.take('b');
    for (let i = 0; i < 16; i++) budget.take('c');
    budget.take('d');
    budget.take('d');
    assert.throws(() => budget.take('d'), rateLimited(31), 'reads have used 50 of 60');
    for (let i = 0; i < 10; i++) budget.take();
    assert.throws(() => budget.take(), rateLimited(31), 'OpenD\'s own 60 per 30 s');
    now += 31_000;
    budget.take('a');
    budget.take();
    assert.equal(OPEND_SNAPSHOT_LIMIT.limit, 60);
  });
});

describe('the gateway spaces trade writes as OpenD counts them (simulator)', () => {
  let sim: SimulatorHandle;
  let gateway: FutuGateway;
  let simHK: AccountRef;

  before(async () => {
    sim = await startSimulator({ port: 0, seed: 11, tradePwd: TRADE_PWD, clock: '2026-12-03T10:00:00+08:00', marketHours: 'always' });
    gateway = new FutuGateway({ port: sim.port });
    await gateway.connect();
    const found = (await gateway.getAccounts()).find((a) => a.env === 'simulate' && a.trdMarkets.includes('HK'))!;
    simHK = { accId: found.accId, env: 'simulate', trdMarket: 'HK' };
  });
  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('20 parallel orders: 15 placed, 5 refused by the gateway with retry_after_seconds, none by OpenD; 15 parallel cancels all pass', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => gateway.placeOrder(simHK, { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 300 + i * 0.2 })),
    );
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.orderId] : []));
    assert.deepEqual(
      refusals.filter((e) => !rateLimited()(e)).map(String),
      [],
      'no order reached OpenD too close to another or beyond its window',
    );
    assert.equal(placed.length, OPEND_LIMITS.place.limit);
    assert.ok(refusals.every((e) => Number((e as GatewayError).details.retry_after_seconds) >= 1));
    const orders = await gateway.getOrders(simHK);
    assert.deepEqual(placed.filter((id) => !orders.some((o) => o.orderId === id)), [], 'OpenD holds every placed order');

    const cancels = await Promise.allSettled(placed.map((orderId) => gateway.modifyOrder(simHK, { orderId, op: 'cancel' })));
    assert.deepEqual(cancels.filter((c) => c.status === 'rejected').map((c) => String((c as PromiseRejectedResult).reason)), []);
  });
});
