import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { APPLE, assertSimError, call, hkt, market, raw, TENCENT } from './market-fixture.js';

type KLine = { time: string; openPrice: number; highPrice: number; lowPrice: number; closePrice: number; lastClosePrice: number; volume: string; turnover?: number };
type HistoryS2C = { klList: KLine[]; nextReqKey?: Buffer };
type Quota = { usedQuota: number; remainQuota: number; detailList: { security: { code: string }; name?: string }[] };

const request = (c2s: Message): Message => ({ rehabType: 0, security: TENCENT, ...c2s });

function allPages(m: ReturnType<typeof market>['market'], c2s: Message): { bars: KLine[]; pages: number } {
  const bars: KLine[] = [];
  let pages = 0;
  let key: Buffer | undefined;
  do {
    const page = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ ...c2s, ...(key ? { nextReqKey: key } : {}) }));
    bars.push(...page.klList);
    key = page.nextReqKey && page.nextReqKey.length > 0 ? page.nextReqKey : undefined;
    pages++;
    assert.ok(pages < 100, 'paging does not terminate');
  } while (key);
  return { bars, pages };
}

describe('Qot_RequestHistoryKL', () => {
  it('pages through a range exactly once: no gaps, no duplicates, nothing outside it', () => {
    const { market: m } = market();
    const { bars, pages } = allPages(m, { klType: 1, beginTime: '2025-02-26', endTime: '2025-03-03', maxAckKLNum: 97 });
    // Wed, Thu, Fri and Mon: 4 trading days of 330 HK minutes.
    assert.equal(bars.length, 4 * 330);
    assert.equal(pages, Math.ceil((4 * 330) / 97));
    assert.equal(bars[0]!.time, '2025-02-26 09:31:00');
    assert.equal(bars.at(-1)!.time, '2025-03-03 16:00:00');
    for (let i = 1; i < bars.length; i++) assert.ok(bars[i]!.time > bars[i - 1]!.time, `order at ${bars[i]!.time}`);
    const single = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 1, beginTime: '2025-02-26', endTime: '2025-03-03', maxAckKLNum: 1000 }));
    assert.deepEqual(bars.slice(0, 1000), single.klList);
  });

  it('honours times of day in the range and the requested fields', () => {
    const { market: m } = market();
    const page = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 6, beginTime: '2025-02-27 10:00:00', endTime: '2025-02-27 10:30:00', needKLFieldsFlag: '8' }));
    assert.deepEqual(page.klList.map((k) => k.time.slice(11)), ['10:00:00', '10:05:00', '10:10:00', '10:15:00', '10:20:00', '10:25:00', '10:30:00']);
    assert.ok(page.klList.every((k) => k.closePrice > 0 && k.openPrice === undefined && k.volume === undefined));
  });

  it('labels week bars with their first trading day and aggregates the days of the week', () => {
    const { market: m } = market();
    const weeks = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 3, beginTime: '2025-01-01', endTime: '2025-02-28' })).klList;
    assert.ok(weeks.every((w) => new Date(`${w.time.slice(0, 10)}T00:00:00Z`).getUTCDay() === 1));
    const days = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 2, beginTime: '2025-02-17', endTime: '2025-02-21' })).klList;
    const week = weeks.find((w) => w.time.startsWith('2025-02-17'))!;
    assert.equal(days.length, 5);
    assert.equal(week.openPrice, days[0]!.openPrice);
    assert.equal(week.closePrice, days[4]!.closePrice);
    assert.equal(week.lastClosePrice, days[0]!.lastClosePrice);
    assert.equal(week.highPrice, Math.max(...days.map((d) => d.highPrice)));
    assert.equal(Number(week.volume), days.reduce((n, d) => n + Number(d.volume), 0));
  });

  it('never returns bars after now; the last one is the bar in progress', () => {
    const { market: m } = market(42, hkt(2025, 3, 4, 10, 15, 30));
    const { klList } = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 1, beginTime: '2025-03-04', endTime: '2025-12-31' }));
    assert.equal(klList.length, 46);
    assert.equal(klList.at(-1)!.time, '2025-03-04 10:16:00');
    const quote = call<{ basicQotList: { curPrice: number }[] }>(m, ProtoId.Qot_GetBasicQot, { securityList: [TENCENT] });
    assert.equal(klList.at(-1)!.closePrice, quote.basicQotList[0]!.curPrice);
  });

  it('rejects invalid dates, inverted ranges and a nextReqKey from another request', () => {
    const { market: m } = market();
    assertSimError(() => raw(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 2, beginTime: '2025-02-30', endTime: '2025-03-03' })), /Invalid beginTime/);
    assertSimError(() => raw(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 2, beginTime: '2025-01-01', endTime: '2025/03/03' })), /Invalid endTime/);
    assertSimError(() => raw(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 2, beginTime: '2025-03-03', endTime: '2025-01-01' })), /later than/);
    assertSimError(() => raw(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 99, beginTime: '2025-01-01', endTime: '2025-01-02' })), /Unsupported KLType/);
    const first = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 1, beginTime: '2025-02-26', endTime: '2025-02-27', maxAckKLNum: 10 }));
    assert.ok(first.nextReqKey);
    assertSimError(
      () => raw(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 6, beginTime: '2025-02-26', endTime: '2025-02-27', nextReqKey: first.nextReqKey })),
      /nextReqKey/,
    );
  });

  it('charges quota once per security, on first pages only', () => {
    const { market: m } = market();
    const quota = (): Quota => call<Quota>(m, ProtoId.Qot_RequestHistoryKLQuota, { bGetDetail: true });
    const start = quota();
    assert.equal(start.usedQuota, 0);
    const page = call<HistoryS2C>(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 1, beginTime: '2025-02-26', endTime: '2025-02-27', maxAckKLNum: 10 }));
    call(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 1, beginTime: '2025-02-26', endTime: '2025-02-27', maxAckKLNum: 10, nextReqKey: page.nextReqKey }));
    call(m, ProtoId.Qot_RequestHistoryKL, request({ klType: 2, beginTime: '2024-01-01', endTime: '2024-12-31' }));
    call(m, ProtoId.Qot_RequestHistoryKL, { rehabType: 0, security: APPLE, klType: 2, beginTime: '2024-01-01', endTime: '2024-12-31' });
    const after = quota();
    assert.equal(after.usedQuota, 2);
    assert.equal(after.remainQuota, start.remainQuota - 2);
    assert.deepEqual(after.detailList.map((d) => d.security.code).sort(), ['00700', 'AAPL']);
  });
});

describe('Qot_GetKL', () => {
  it('returns the latest reqNum bars (at most 1000), ending with the bar in progress', () => {
    const { market: m } = market();
    const few = call<HistoryS2C>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 2, security: TENCENT, reqNum: 3 }).klList;
    assert.deepEqual(few.map((k) => k.time), ['2025-02-28 00:00:00', '2025-03-03 00:00:00', '2025-03-04 00:00:00']);
    assert.equal(few[2]!.lastClosePrice, few[1]!.closePrice);
    const many = call<HistoryS2C>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 1, security: TENCENT, reqNum: 5000 }).klList;
    assert.equal(many.length, 1000);
    assert.equal(many.at(-1)!.time, '2025-03-04 10:16:00');
    assertSimError(() => raw(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 2, security: TENCENT, reqNum: 0 }), /reqNum/);
  });
});
