import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FutuGateway, GatewayError } from '../../src/gateway/index.js';
import { startRig } from './setup.js';

const isGatewayError = (code: string) => (err: unknown) => err instanceof GatewayError && err.code === code;

/** One clock for the simulator and the gateway, moved by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.parse('2026-11-18T02:30:00Z');
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('subscription rules enforced locally', () => {
  test('the quota is checked across connections before OpenD is asked', async () => {
    const rig = await startRig(undefined, { sim: { subQuota: 3 } });
    const other = new FutuGateway({ port: rig.sim.port });
    try {
      await other.connect();
      await other.subscribe(['US.AAPL'], ['QUOTE']);
      await rig.gateway.subscribe(['HK.00700', 'HK.09988'], ['QUOTE']);
      await assert.rejects(rig.gateway.getBasicQuotes(['US.TSLA']), (err: unknown) => {
        assert.ok(isGatewayError('SUBSCRIPTION_QUOTA')(err), String(err));
        assert.deepEqual((err as GatewayError).details, { needed: 1, remaining: 0, used: 3 });
        return true;
      });
      // A slot another connection already holds costs nothing, so this fits a full quota.
      const [quote] = await rig.gateway.getBasicQuotes(['US.AAPL']);
      assert.equal(quote?.symbol, 'US.AAPL');
    } finally {
      await other.close();
      await rig.close();
    }
  });

  test('concurrent first uses are checked one at a time, so the last free slot is never over-promised', async () => {
    const rig = await startRig(undefined, { sim: { subQuota: 1 } });
    try {
      const results = await Promise.allSettled([rig.gateway.getBasicQuotes(['US.AAPL']), rig.gateway.getBasicQuotes(['US.TSLA'])]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const [rejected] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(isGatewayError('SUBSCRIPTION_QUOTA')(rejected?.reason), String(rejected?.reason));
    } finally {
      await rig.close();
    }
  });

  test('no unsubscribing within a minute of subscribing, with the wait in retry_after_seconds', async () => {
    const clock = manualClock();
    const rig = await startRig(undefined, { sim: { now: clock.now }, gateway: { now: clock.now } });
    try {
      await rig.gateway.subscribe(['HK.00700'], ['QUOTE', 'TICKER']);
      const retryAfter = async (): Promise<unknown> => {
        const err = await rig.gateway.unsubscribe(['HK.00700'], ['TICKER']).then(() => undefined, (e: unknown) => e);
        assert.ok(isGatewayError('UNSUBSCRIBE_TOO_SOON')(err), String(err));
        return (err as GatewayError).details.retry_after_seconds;
      };
      assert.equal(await retryAfter(), 60);
      clock.advance(45_500);
      assert.equal(await retryAfter(), 15);
      clock.advance(15_000);
      await rig.gateway.unsubscribe(['HK.00700'], ['TICKER']);
      const { subscriptions, usedQuota } = await rig.gateway.getSubscriptions();
      assert.deepEqual(subscriptions, [{ symbol: 'HK.00700', subTypes: ['QUOTE'] }]);
      assert.equal(usedQuota, 1, 'OpenD released the slot too');
      // Unsubscribing what is not subscribed is a no-op, not an error.
      await rig.gateway.unsubscribe(['US.AAPL'], ['QUOTE']);
      await assert.rejects(rig.gateway.subscribe(['HK.00700'], []), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.subscribe(['HK.00700'], ['LEVEL2' as 'QUOTE']), isGatewayError('INVALID_ARGUMENT'));
    } finally {
      await rig.close();
    }
  });
});
