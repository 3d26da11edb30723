import type { MarketCode } from '../gateway/symbol.js';
import { isTradingDay, localDay, localMsOfDay, MINUTE_MS } from './calendar.js';

/** Qot_Common.QotMarketState values used by the simulator. */
export const QotMarketState = {
  Auction: 1,
  WaitingOpen: 2,
  Morning: 3,
  Rest: 4,
  Afternoon: 5,
  Closed: 6,
  PreMarketBegin: 8,
  AfterHoursBegin: 10,
  AfterHoursEnd: 11,
  NightOpen: 13,
  FutureDayOpen: 15,
  FutureDayBreak: 16,
  FutureDayClose: 17,
  FutureDayWaitForOpen: 18,
  HkCas: 19,
} as const;

type Schedule = readonly (readonly [fromMinute: number, state: number])[];

const hm = (h: number, m = 0): number => h * 60 + m;
const S = QotMarketState;

/** Each entry holds from its local minute until the next entry's. Futu reports US regular hours as "Afternoon". */
const SCHEDULES: Record<MarketCode, Schedule> = {
  HK: [[0, S.Closed], [hm(9), S.Auction], [hm(9, 20), S.WaitingOpen], [hm(9, 30), S.Morning], [hm(12), S.Rest], [hm(13), S.Afternoon], [hm(16), S.HkCas], [hm(16, 10), S.Closed]],
  US: [[0, S.Closed], [hm(4), S.PreMarketBegin], [hm(9, 30), S.Afternoon], [hm(16), S.AfterHoursBegin], [hm(20), S.AfterHoursEnd]],
  SH: [[0, S.Closed], [hm(9, 15), S.Auction], [hm(9, 25), S.WaitingOpen], [hm(9, 30), S.Morning], [hm(11, 30), S.Rest], [hm(13), S.Afternoon], [hm(15), S.Closed]],
  SZ: [[0, S.Closed], [hm(9, 15), S.Auction], [hm(9, 25), S.WaitingOpen], [hm(9, 30), S.Morning], [hm(11, 30), S.Rest], [hm(13), S.Afternoon], [hm(15), S.Closed]],
};

/** HK index futures: day session 09:15-12:00 and 13:00-16:30, night session 17:15-03:00. */
const HK_FUTURES: Schedule = [
  [0, S.NightOpen], [hm(3), S.Closed], [hm(8, 45), S.FutureDayWaitForOpen], [hm(9, 15), S.FutureDayOpen], [hm(12), S.FutureDayBreak],
  [hm(13), S.FutureDayOpen], [hm(16, 30), S.FutureDayClose], [hm(17, 15), S.NightOpen],
];

function lookup(schedule: Schedule, minute: number): number {
  let state = schedule[0]![1];
  for (const [from, s] of schedule) if (minute >= from) state = s;
  return state;
}

export function marketStateAt(market: MarketCode, nowMs: number): number {
  if (!isTradingDay(localDay(nowMs, market))) return S.Closed;
  return lookup(SCHEDULES[market], Math.floor(localMsOfDay(nowMs, market) / MINUTE_MS));
}

export function hkFuturesStateAt(nowMs: number): number {
  const day = localDay(nowMs, 'HK');
  const minute = Math.floor(localMsOfDay(nowMs, 'HK') / MINUTE_MS);
  // The night session after midnight belongs to the previous trading day's evening.
  const sessionDay = minute < hm(3) ? day - 1 : day;
  if (!isTradingDay(sessionDay)) return S.Closed;
  return lookup(HK_FUTURES, minute);
}
