import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { marketClocks, parseInstant } from '../../src/sim/clock.js';
import { SimMarket } from '../../src/sim/market.js';
import { QotMarketState } from '../../src/sim/marketState.js';
import { SimTrading } from '../../src/sim/trading.js';
import { testClient, testSimulator } from '../helpers/rawClient.js';
import { hkt, ManualClock, raw, TENCENT, UNLOCKED } from './market-fixture.js';

/** Saturday 2026-12-05 10:00 in Hong Kong: every simulated market is closed. */
const SATURDAY = '2026-12-05T10:00:00+08:00';
const TRADING = [QotMarketState.Morning, QotMarketState.Afternoon] as const;
const HK_SIMULATE = { trdEnv: 0, trdMarket: 1 };

function engines(at: number, marketHours: 'real' | 'always') {
  const clock = new ManualClock(at);
  const market = new SimMarket({ seed: 7, now: clock.now, marketHours });
  return { clock, market, trading: new SimTrading({ market, seed: 7 }) };
}

function hkSimulateAccount(trading: SimTrading): string {
  const accList = (raw(trading, ProtoId.Trd_GetAccList, { userID: '0' }) as { accList: { trdEnv: number; accID: string; trdMarketAuthList: number[] }[] }).accList;
  return accList.find((a) => a.trdEnv === 0 && a.trdMarketAuthList.includes(1))!.accID;
}

function marketBuy(trading: SimTrading, accID: string, serialNo = 1): Message {
  return raw(trading, ProtoId.Trd_PlaceOrder, { packetID: { connID: '1', serialNo }, header: { ...HK_SIMULATE, accID }, trdSide: 1, orderType: 2, code: TENCENT.code, qty: 100 }, UNLOCKED);
}

describe('simulator clock', () => {
  it('parses only ISO-8601 instants with a time and an explicit offset', () => {
    assert.equal(parseInstant('2026-12-03T10:00:00+08:00'), Date.UTC(2026, 11, 3, 2));
    assert.equal(parseInstant('2026-12-03T02:00Z'), Date.UTC(2026, 11, 3, 2));
    assert.equal(parseInstant('2026-12-03T10:00:00.250-05:00'), Date.UTC(2026, 11, 3, 15, 0, 0, 250));
    for (const bad of ['2026-12-03', '2026-12-03T10:00:00', '2026-02-30T10:00:00Z', '2026-12-03T24:00:00Z', '2026-12-03T10:00:00+15:00', 'tomorrow', '']) {
      assert.equal(parseInstant(bad), undefined, bad);
    }
  });

  it('with real hours, a Saturday is closed everywhere and refuses MARKET orders', () => {
    const { market, trading } = engines(parseInstant(SATURDAY)!, 'real');
    const states = market.marketStates();
    assert.deepEqual(Object.values(states).filter((s) => (TRADING as readonly number[]).includes(s) || s === QotMarketState.FutureDayOpen), [], JSON.stringify(states));
    assert.equal(states.marketHK, QotMarketState.Closed);
    assert.equal(market.quoteOf(TENCENT).trading, false);
    assert.throws(() => marketBuy(trading, hkSimulateAccount(trading)), /accepted only during continuous trading/);
  });

  it('with hours "always", every market trades on a Saturday and a MARKET BUY fills at the ask', () => {
    const { market, trading } = engines(parseInstant(SATURDAY)!, 'always');
    const states = market.marketStates();
    for (const m of ['marketHK', 'marketUS', 'marketSH', 'marketSZ'] as const) assert.ok((TRADING as readonly number[]).includes(states[m]), `${m} is ${states[m]}`);
    assert.equal(states.marketHKFuture, QotMarketState.FutureDayOpen);
    const ask = market.bookOf(TENCENT).asks[0]!;
    assert.ok(ask.volume >= 100);
    const accID = hkSimulateAccount(trading);
    const placed = marketBuy(trading, accID) as { orderID: string };
    const orders = (raw(trading, ProtoId.Trd_GetOrderList, { header: { ...HK_SIMULATE, accID } }) as { orderList: { orderID: string; orderStatus: number; fillQty: number; fillAvgPrice: number }[] }).orderList;
    const order = orders.find((o) => o.orderID === placed.orderID)!;
    assert.equal(order.fillQty, 100);
    assert.equal(order.fillAvgPrice, ask.price);
  });

  it('with hours "always", market time runs at real speed inside a session and skips the breaks, closes and weekends', () => {
    const start = hkt(2026, 12, 4, 11, 59); // Friday, one minute before the HK lunch break
    const clock = new ManualClock(start);
    const at = marketClocks(clock.now, 'always');
    assert.equal(at('HK'), start, 'inside a session the market reads the clock as is');
    clock.advance(30_000);
    assert.equal(at('HK'), start + 30_000);
    clock.advance(60_000);
    assert.equal(at('HK'), hkt(2026, 12, 4, 13, 0, 30), 'the lunch break is skipped');
    clock.advance(3 * 3600_000);
    assert.equal(at('HK'), hkt(2026, 12, 7, 9, 30, 30), 'the close and the weekend are skipped');
    // Ticks keep arriving: resting orders keep matching while the wall clock sits in a weekend.
    let previous = -Infinity;
    for (let i = 0; i < 50; i++) {
      clock.advance(7 * 60_000);
      const now = at('US');
      assert.ok(now > previous, 'market time never goes back');
      previous = now;
    }
  });

  it('startSimulator starts the clock at `clock` and refuses bad clocks and hours', async (t) => {
    const sim = await testSimulator(t, { clock: SATURDAY });
    const drift = sim.market.now() - parseInstant(SATURDAY)!;
    assert.ok(drift >= 0 && drift < 5_000, `the clock starts at the given instant (${drift} ms)`);
    const client = await testClient(t, sim.port);
    const state = await client.call<{ marketHK: number; time: string }>(ProtoId.GetGlobalState, { userID: '0' });
    assert.equal(state.marketHK, QotMarketState.Closed);
    assert.ok(Math.abs(Number(state.time) * 1000 - parseInstant(SATURDAY)!) < 5_000, 'OpenD reports the simulated time');

    await assert.rejects(testSimulator(t, { clock: '2026-12-05 10:00' }), { code: 'SIM_INVALID_CONFIG', message: /ISO-8601/ });
    await assert.rejects(testSimulator(t, { clock: new Date(Number.NaN) }), { code: 'SIM_INVALID_CONFIG' });
    await assert.rejects(testSimulator(t, { clock: SATURDAY, now: () => 0 }), { code: 'SIM_INVALID_CONFIG', message: /not both/ });
    await assert.rejects(testSimulator(t, { marketHours: 'sometimes' as 'always' }), { code: 'SIM_INVALID_CONFIG', message: /marketHours/ });
  });
});
