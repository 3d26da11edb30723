import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../src/gateway/index.js';
import { defaultPerHolder, readHeadroom } from '../../src/gateway/subscriptions.js';
import { startRig, type Rig } from './setup.js';

const budgetRefusal = (retryAfter?: number) => (err: unknown) =>
  err instanceof GatewayError && err.code === 'SUBSCRIPTION_BUDGET' && err.details.retry_after_seconds === retryAfter;

/** One clock for the simulator and the gateway, moved by hand: OpenD's minute passes without sleeping. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.parse('2026-12-03T02:00:00Z');
  return { now: () => t, advance: (ms) => (t += ms) };
}

const subscribed = async (rig: Rig): Promise<string[]> =>
  (await rig.gateway.getSubscriptions()).subscriptions.flatMap((s) => s.subTypes.map((t) => `${s.symbol} ${t}`)).sort();

describe('per-holder subscription budgets', () => {
  test('defaults: a third of what reads may use, and reads leave a tenth of the quota free', () => {
    assert.equal(readHeadroom(100), 10);
    assert.equal(defaultPerHolder(100), 30);
    assert.equal(readHeadroom(3), 1);
    assert.equal(defaultPerHolder(3), 1);
  });

  test('a full holder releases its least recently used slot once OpenD allows it; before that it is told when to retry', async () => {
    const clock = manualClock();
    const rig = await startRig(undefined, { sim: { now: clock.now }, gateway: { now: clock.now, subscriptionsPerHolder: 3 } });
    try {
      const reader = { holder: 'reader' };
      await rig.gateway.getBasicQuotes(['HK.00700'], reader);
      await rig.gateway.getBasicQuotes(['HK.09988'], reader);
      clock.advance(61_000);
      await rig.gateway.getBasicQuotes(['HK.00700'], reader); // used again: HK.09988 is now the least recently used
      await rig.gateway.getBasicQuotes(['US.AAPL'], reader);
      await rig.gateway.getOrderBook('US.TSLA', 1, reader);
      assert.deepEqual(await subscribed(rig), ['HK.00700 QUOTE', 'US.AAPL QUOTE', 'US.TSLA ORDER_BOOK']);
      await rig.gateway.getBasicQuotes(['US.NVDA'], reader);
      assert.deepEqual(await subscribed(rig), ['US.AAPL QUOTE', 'US.NVDA QUOTE', 'US.TSLA ORDER_BOOK']);
      // Everything it holds is younger than OpenD's minute.
      clock.advance(15_000);
      await assert.rejects(rig.gateway.getBasicQuotes(['US.MSFT'], reader), budgetRefusal(45));
      assert.deepEqual(await subscribed(rig), ['US.AAPL QUOTE', 'US.NVDA QUOTE', 'US.TSLA ORDER_BOOK'], 'a refused read changes nothing');
      // Another holder is not held back by this one's budget.
      await rig.gateway.getBasicQuotes(['US.MSFT'], { holder: 'other' });
      clock.advance(45_000);
      await rig.gateway.getBasicQuotes(['US.GOOG'], reader);
      assert.deepEqual(await subscribed(rig), ['US.GOOG QUOTE', 'US.MSFT QUOTE', 'US.NVDA QUOTE', 'US.TSLA ORDER_BOOK']);
    } finally {
      await rig.close();
    }
  });

  test('held slots (resource subscriptions) count in the budget and are never released for reads; released, they are claims like any', async () => {
    const clock = manualClock();
    const rig = await startRig(undefined, { sim: { now: clock.now }, gateway: { now: clock.now, subscriptionsPerHolder: 2 } });
    try {
      const reader = { holder: 'reader' };
      const release = await rig.gateway.holdSubscription('HK.00700', 'QUOTE', 'reader');
      await rig.gateway.getBasicQuotes(['HK.09988'], reader);
      clock.advance(61_000);
      // Both are past OpenD's minute; only the unheld one may make room.
      await rig.gateway.getBasicQuotes(['US.AAPL'], reader);
      assert.deepEqual(await subscribed(rig), ['HK.00700 QUOTE', 'US.AAPL QUOTE']);
      clock.advance(61_000);
      await rig.gateway.getBasicQuotes(['HK.00700'], reader);
      const second = await rig.gateway.holdSubscription('US.AAPL', 'QUOTE', 'reader');
      await assert.rejects(rig.gateway.getBasicQuotes(['US.TSLA'], reader), (err: unknown) => {
        assert.ok(err instanceof GatewayError && err.code === 'SUBSCRIPTION_BUDGET', String(err));
        assert.match(err.message, /holds its 2 live subscriptions, 2 of them for resource subscriptions: unsubscribe a resource/);
        return true;
      });
      second();
      release();
      release(); // idempotent
      await rig.gateway.getBasicQuotes(['US.TSLA'], reader);
      // Holding US.AAPL was its last use: HK.00700 is the least recently used, and goes.
      assert.deepEqual(await subscribed(rig), ['US.AAPL QUOTE', 'US.TSLA QUOTE'], 'released, the least recently used went');
    } finally {
      await rig.close();
    }
  });

  test('a slot another holder still uses stays subscribed when one holder lets it go', async () => {
    const clock = manualClock();
    const rig = await startRig(undefined, { sim: { now: clock.now }, gateway: { now: clock.now, subscriptionsPerHolder: 1 } });
    try {
      await rig.gateway.getBasicQuotes(['HK.00700'], { holder: 'a' });
      await rig.gateway.getBasicQuotes(['HK.00700'], { holder: 'b' });
      clock.advance(61_000);
      await rig.gateway.getBasicQuotes(['US.AAPL'], { holder: 'a' });
      assert.deepEqual(await subscribed(rig), ['HK.00700 QUOTE', 'US.AAPL QUOTE']);
      await rig.gateway.getBasicQuotes(['US.TSLA'], { holder: 'b' });
      assert.deepEqual(await subscribed(rig), ['US.AAPL QUOTE', 'US.TSLA QUOTE']);
    } finally {
      await rig.close();
    }
  });

  test('holders\' reads never take the last slots of the quota; the server\'s own reads may', async () => {
    const rig = await startRig(undefined, { sim: { subQuota: 10 }, gateway: { subscriptionsPerHolder: 20 } });
    try {
      await rig.gateway.getBasicQuotes(['HK.00700', 'HK.09988', 'HK.03690', 'HK.00005', 'HK.00941', 'US.AAPL', 'US.TSLA', 'US.NVDA', 'US.MSFT'], { holder: 'x' });
      await assert.rejects(rig.gateway.getBasicQuotes(['US.GOOG'], { holder: 'y' }), (err: unknown) => {
        assert.ok(err instanceof GatewayError && err.code === 'SUBSCRIPTION_QUOTA', String(err));
        assert.match(err.message, /0 left for reads/);
        return true;
      });
      await rig.gateway.getBasicQuotes(['US.GOOG']);
    } finally {
      await rig.close();
    }
  });

  test('a read asking for more slots than a holder may hold is refused without retry_after_seconds', async () => {
    const rig = await startRig(undefined, { gateway: { subscriptionsPerHolder: 2 } });
    try {
      await assert.rejects(rig.gateway.getBasicQuotes(['HK.00700', 'HK.09988', 'US.AAPL'], { holder: 'x' }), budgetRefusal(undefined));
      assert.deepEqual(await subscribed(rig), []);
    } finally {
      await rig.close();
    }
  });
});
