import type { PricePath } from './pricePath.js';
import type { Progress } from './progress.js';
import { timedTicks, type TimedTick } from './quote.js';
import { dayOfTradingIndex, localDay, MINUTE_MS, previousTradingDay, tradingDayOnOrAfter, tradingIndex, tradingMinutes, utcOf } from './calendar.js';

/** The latest `count` ticks up to now, oldest first. */
export function latestTicks(path: PricePath, now: Progress, count: number): TimedTick[] {
  const market = path.listing.market;
  const minutes = tradingMinutes(market).length;
  const chunks: TimedTick[][] = [];
  let collected = 0;
  let day = now.day;
  let minute = now.partial ? now.partial.minute : now.fullMinutes - 1;
  while (collected < count && day >= path.firstDay) {
    let ticks = timedTicks(path, day, minute);
    if (day === now.day && now.partial && minute === now.partial.minute) {
      const cutoff = utcOf(market, day, tradingMinutes(market)[minute]!) + now.partial.offsetMs;
      ticks = ticks.filter((t) => t.utcMs <= cutoff);
    }
    chunks.push(ticks);
    collected += ticks.length;
    if (--minute < 0) {
      day = previousTradingDay(day);
      minute = minutes - 1;
    }
  }
  const all = chunks.reverse().flat();
  return all.slice(Math.max(0, all.length - count));
}

/** Ticks with afterMs < time <= untilMs, in time order. */
export function ticksBetween(path: PricePath, afterMs: number, untilMs: number): TimedTick[] {
  const market = path.listing.market;
  const starts = tradingMinutes(market);
  const out: TimedTick[] = [];
  const lastDay = localDay(untilMs, market);
  for (let day = tradingDayOnOrAfter(Math.max(localDay(afterMs, market), path.firstDay)); day <= lastDay; day = dayOfTradingIndex(tradingIndex(day) + 1)) {
    for (let minute = 0; minute < starts.length; minute++) {
      const startMs = utcOf(market, day, starts[minute]!);
      if (startMs + MINUTE_MS <= afterMs) continue;
      if (startMs > untilMs) break;
      for (const t of timedTicks(path, day, minute)) if (t.utcMs > afterMs && t.utcMs <= untilMs) out.push(t);
    }
  }
  return out;
}
