import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { dayOfDate, isTradingDay, tradingIndex } from '../../src/sim/calendar.js';
import { LISTINGS, listingBySymbol } from '../../src/sim/catalog.js';
import { PricePath } from '../../src/sim/pricePath.js';
import { isOnTick, snapPrice, stepPrice, tickDown, tickUp } from '../../src/sim/tickSize.js';
import { APPLE, call, encoded, hkt, market, MOUTAI, PING_AN, TENCENT } from './market-fixture.js';

type KLine = { time: string; openPrice: number; highPrice: number; lowPrice: number; closePrice: number; volume: string; turnover: number };
type KlS2C = { klList: KLine[] };

describe('tick sizes', () => {
  it('follows the HKEX spread table, a boundary price stepping up by the next band', () => {
    assert.equal(tickUp('HK', 430), 0.2);
    assert.equal(tickUp('HK', 500), 0.5);
    assert.equal(tickDown('HK', 500), 0.2);
    assert.equal(tickUp('HK', 9.99), 0.01);
    assert.equal(tickUp('HK', 10), 0.02);
    assert.equal(tickDown('HK', 10), 0.01);
    assert.equal(tickUp('HK', 0.3), 0.005);
    assert.equal(tickUp('HK', 1500), 1);
    assert.equal(stepPrice('HK', 499.8, 1), 500);
    assert.equal(stepPrice('HK', 500, 1), 500.5);
    assert.equal(stepPrice('HK', 500.5, -2), 499.8);
  });

  it('uses cents in the US (1/100 cent below $1) and on A-shares', () => {
    assert.equal(tickUp('US', 0.5), 0.0001);
    assert.equal(tickUp('US', 1), 0.01);
    assert.equal(tickDown('US', 1), 0.0001);
    assert.equal(tickUp('SH', 1480), 0.01);
  });

  it('snaps to the grid and recognises off-grid prices', () => {
    assert.equal(snapPrice('HK', 430.13), 430.2);
    assert.equal(snapPrice('HK', 430.05), 430);
    assert.equal(snapPrice('HK', 430.05, 'up'), 430.2);
    assert.equal(snapPrice('HK', 612.3, 'down'), 612);
    assert.equal(snapPrice('US', 187.456), 187.46);
    assert.ok(isOnTick('HK', 430.4));
    assert.ok(!isOnTick('HK', 430.1));
    assert.ok(isOnTick('HK', 500.5));
    assert.ok(!isOnTick('HK', 500.3));
    assert.ok(!isOnTick('US', 187.455));
  });
});

describe('simulated prices', () => {
  it('puts every bar price on the tick grid of its market', () => {
    const { market: m } = market();
    for (const sec of [TENCENT, APPLE, MOUTAI, PING_AN, { market: 1, code: '00005' }]) {
      const marketCode = sec.market === 1 ? 'HK' : sec.market === 11 ? 'US' : 'SH';
      for (const klType of [1, 2]) {
        const { klList } = call<KlS2C>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType, security: sec, reqNum: 400 });
        assert.equal(klList.length, 400);
        for (const k of klList) {
          for (const p of [k.openPrice, k.highPrice, k.lowPrice, k.closePrice]) assert.ok(isOnTick(marketCode, p), `${sec.code} ${k.time} ${p}`);
          assert.ok(k.lowPrice <= Math.min(k.openPrice, k.closePrice) && k.highPrice >= Math.max(k.openPrice, k.closePrice), `${sec.code} ${k.time}`);
        }
      }
    }
  });

  it('is identical byte for byte for the same seed and clock, and differs for another seed', () => {
    const kl = { rehabType: 0, klType: 2, security: TENCENT, reqNum: 250 };
    const snap = { securityList: [TENCENT, APPLE, MOUTAI] };
    const a = market(7).market;
    const b = market(7).market;
    const c = market(8).market;
    assert.deepEqual(encoded(a, ProtoId.Qot_GetKL, kl), encoded(b, ProtoId.Qot_GetKL, kl));
    assert.deepEqual(encoded(a, ProtoId.Qot_GetSecuritySnapshot, snap), encoded(b, ProtoId.Qot_GetSecuritySnapshot, snap));
    assert.notDeepEqual(encoded(a, ProtoId.Qot_GetKL, kl), encoded(c, ProtoId.Qot_GetKL, kl));
    assert.notDeepEqual(encoded(a, ProtoId.Qot_GetSecuritySnapshot, snap), encoded(c, ProtoId.Qot_GetSecuritySnapshot, snap));
  });

  it('computes any day alone exactly as after computing the days before it', () => {
    const listing = listingBySymbol('HK.00700');
    const day = dayOfDate('2024-05-15');
    const alone = new PricePath(3, listing).dayBar(day);
    const walked = new PricePath(3, listing);
    for (let d = day - 400; d < day; d++) if (isTradingDay(d)) walked.dayBar(d);
    assert.deepEqual(walked.dayBar(day), alone);
  });

  it('makes a day bar the exact aggregate of its minute bars, and each minute the aggregate of its ticks', () => {
    const { market: m } = market();
    const { klList: days } = call<KlS2C>(m, ProtoId.Qot_RequestHistoryKL, { rehabType: 0, klType: 2, security: TENCENT, beginTime: '2025-02-27', endTime: '2025-02-27' });
    const { klList: minutes } = call<KlS2C>(m, ProtoId.Qot_RequestHistoryKL, { rehabType: 0, klType: 1, security: TENCENT, beginTime: '2025-02-27', endTime: '2025-02-27' });
    assert.equal(days.length, 1);
    assert.equal(minutes.length, 330);
    const day = days[0]!;
    assert.equal(day.openPrice, minutes[0]!.openPrice);
    assert.equal(day.closePrice, minutes.at(-1)!.closePrice);
    assert.equal(day.highPrice, Math.max(...minutes.map((k) => k.highPrice)));
    assert.equal(day.lowPrice, Math.min(...minutes.map((k) => k.lowPrice)));
    assert.equal(Number(day.volume), minutes.reduce((n, k) => n + Number(k.volume), 0));
    assert.ok(Math.abs(day.turnover - minutes.reduce((n, k) => n + k.turnover, 0)) < 0.01);

    const path = PricePath.of(42, listingBySymbol('HK.00700'));
    const series = path.dayMinutes(dayOfDate('2025-02-27'));
    for (const minute of [0, 100, 329]) {
      const ticks = path.ticksOf(series.day, minute);
      assert.equal(ticks[0]!.price, series.minuteOpen[minute]);
      assert.equal(ticks.at(-1)!.price, series.minuteClose[minute]);
      assert.equal(Math.max(...ticks.map((t) => t.price)), series.minuteHigh[minute]);
      assert.equal(Math.min(...ticks.map((t) => t.price)), series.minuteLow[minute]);
      assert.equal(ticks.reduce((n, t) => n + t.volume, 0), series.minuteVolume[minute]);
      assert.ok(Math.abs(ticks.reduce((n, t) => n + t.turnover, 0) - series.minuteTurnover[minute]!) < 0.01);
      assert.ok(ticks.every((t, i) => i === 0 || t.offsetMs >= ticks[i - 1]!.offsetMs));
    }
  });

  it('keeps five years of closes near realistic levels with the configured daily volatility', () => {
    const end = tradingIndex(dayOfDate('2025-03-03'));
    for (const listing of LISTINGS) {
      const path = new PricePath(11, listing);
      const closes = Array.from({ length: 1260 }, (_, i) => path.closeAt(end - 1259 + i));
      assert.ok(Math.min(...closes) > listing.basePrice / 4 && Math.max(...closes) < listing.basePrice * 4, listing.symbol);
      const returns = closes.slice(1).map((c, i) => Math.log(c / closes[i]!));
      const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
      const sd = Math.sqrt(returns.reduce((a, r) => a + (r - mean) ** 2, 0) / returns.length);
      assert.ok(sd > listing.dailyVol * 0.6 && sd < listing.dailyVol * 1.6, `${listing.symbol} daily vol ${sd}`);
    }
  });

  it('labels intraday bars with their end and cuts them at the lunch break', () => {
    const { market: m } = market(42, hkt(2025, 3, 4, 17));
    const { klList } = call<KlS2C>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 9, security: TENCENT, reqNum: 6 });
    assert.deepEqual(klList.map((k) => k.time.slice(11)), ['10:30:00', '11:30:00', '12:00:00', '14:00:00', '15:00:00', '16:00:00']);
    const { klList: cn } = call<KlS2C>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 8, security: MOUTAI, reqNum: 8 });
    assert.deepEqual(cn.map((k) => k.time.slice(11)), ['10:00:00', '10:30:00', '11:00:00', '11:30:00', '13:30:00', '14:00:00', '14:30:00', '15:00:00']);
  });
});
