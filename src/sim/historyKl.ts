import type { Message } from '../gateway/proto.js';
import { SimError } from './contract.js';
import type { Listing } from './catalog.js';
import { bytesOf, numberOf, requiredNumber, stringOf } from './fields.js';
import { barsFrom, klKind, kLineMessage, periodStart, type KlBar } from './klines.js';
import type { PricePath } from './pricePath.js';
import type { Progress } from './progress.js';
import { DAY_MS, formatLocal, localDay, parseLocal } from './calendar.js';

/**
 * Qot_RequestHistoryKL paging and Qot_RequestHistoryKLQuota. A page holds at most MAX_PAGE bars
 * (also when maxAckKLNum is absent, so one request cannot ask for years of minute bars at once);
 * nextReqKey names the first bar of the next page and is bound to the request it came from.
 * Quota: each security fetched (first page) within QUOTA_WINDOW_MS costs one of QUOTA_TOTAL.
 */
const MAX_PAGE = 1000;
const QUOTA_TOTAL = 300;
const QUOTA_WINDOW_MS = 30 * DAY_MS;

interface PageKey {
  symbol: string;
  klType: number;
  begin: string;
  end: string;
  next: number;
}

function encodeKey(key: PageKey): Buffer {
  return Buffer.from(JSON.stringify(key), 'utf8');
}

function decodeKey(bytes: Buffer, expect: Omit<PageKey, 'next'>): number {
  let key: Partial<PageKey>;
  try {
    key = JSON.parse(bytes.toString('utf8')) as Partial<PageKey>;
  } catch {
    throw new SimError('Invalid nextReqKey');
  }
  const same = key.symbol === expect.symbol && key.klType === expect.klType && key.begin === expect.begin && key.end === expect.end;
  if (!same || typeof key.next !== 'number') throw new SimError('Invalid nextReqKey: it belongs to a different request');
  return key.next;
}

export class HistoryKl {
  /** symbol → when its first page was last fetched (UTC ms). */
  private readonly fetched = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  request(c2s: Message, path: PricePath, progress: Progress): Message {
    const listing = path.listing;
    const klType = requiredNumber(c2s, 'klType');
    const kind = klKind(klType);
    const beginText = stringOf(c2s, 'beginTime') ?? '';
    const endText = stringOf(c2s, 'endTime') ?? '';
    const begin = parseBound(beginText, listing, 'beginTime', false);
    const end = parseBound(endText, listing, 'endTime', true);
    if (begin > end) throw new SimError(`beginTime ${beginText} is later than endTime ${endText}`);
    const pageSize = Math.min(MAX_PAGE, Math.max(1, numberOf(c2s, 'maxAckKLNum') ?? MAX_PAGE));
    const fields = numberOf(c2s, 'needKLFieldsFlag');
    const identity = { symbol: listing.symbol, klType, begin: beginText, end: endText };
    const keyBytes = bytesOf(c2s, 'nextReqKey');
    const from = keyBytes ? decodeKey(keyBytes, identity) : begin;
    if (!keyBytes) this.chargeQuota(listing);

    const firstDay = localDay(from, listing.market);
    const startDay = 'period' in kind ? periodStart(firstDay, kind.period) : firstDay;
    const page: KlBar[] = [];
    let next: number | undefined;
    for (const bar of barsFrom(path, klType, startDay, progress)) {
      if (bar.timeMs < from) continue;
      if (bar.timeMs > end) break;
      if (page.length === pageSize) {
        next = bar.timeMs;
        break;
      }
      page.push(bar);
    }
    const s2c: Message = {
      security: listing.security,
      name: listing.name,
      klList: page.map((bar) => kLineMessage(bar, path, listing.market, fields)),
    };
    if (next !== undefined) s2c.nextReqKey = encodeKey({ ...identity, next });
    return s2c;
  }

  quota(c2s: Message, listingOf: (symbol: string) => Listing): Message {
    const live = this.live();
    const s2c: Message = { usedQuota: live.length, remainQuota: QUOTA_TOTAL - live.length };
    if (c2s.bGetDetail === true) {
      s2c.detailList = live.map(([symbol, at]) => {
        const listing = listingOf(symbol);
        return { security: listing.security, name: listing.name, requestTime: formatLocal(at, listing.market), requestTimeStamp: String(Math.floor(at / 1000)) };
      });
    }
    return s2c;
  }

  private live(): [string, number][] {
    const now = this.now();
    return [...this.fetched].filter(([, at]) => now - at < QUOTA_WINDOW_MS);
  }

  private chargeQuota(listing: Listing): void {
    const live = this.live();
    const known = live.some(([symbol]) => symbol === listing.symbol);
    if (!known && live.length >= QUOTA_TOTAL) throw new SimError('Historical K-line quota exhausted; quota is released 30 days after each download');
    if (!known) this.fetched.set(listing.symbol, this.now());
  }
}

function parseBound(text: string, listing: Listing, field: string, isEnd: boolean): number {
  const parsed = parseLocal(text, listing.market);
  if (!parsed) throw new SimError(`Invalid ${field} "${text}": expected yyyy-MM-dd or yyyy-MM-dd HH:mm:ss`);
  return isEnd && !parsed.hasTime ? parsed.utcMs + DAY_MS - 1 : parsed.utcMs;
}
