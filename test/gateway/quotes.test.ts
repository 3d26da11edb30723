import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayError, type BasicQuote, type KLineSeries, type OrderBook } from '../../src/gateway/index.js';
import { nextMatching, startRig, TRANSPORTS, type Rig } from './setup.js';

const isGatewayError = (code: string) => (err: unknown) => err instanceof GatewayError && err.code === code;

for (const transport of TRANSPORTS) {
  describe(`quotes over ${transport.name}`, () => {
    let rig: Rig;
    before(async () => {
      rig = await startRig(transport, { sim: { pushIntervalMs: 50 } });
    });
    after(() => rig.close());

    test('getBasicQuotes subscribes QUOTE on first use and returns typed quotes in request order', async () => {
      const quotes = await rig.gateway.getBasicQuotes(['US.AAPL', 'HK.00700']);
      assert.deepEqual(quotes.map((q) => q.symbol), ['US.AAPL', 'HK.00700']);
      for (const q of quotes) {
        assert.ok(q.low <= q.price && q.price <= q.high, `${q.symbol} price within the day's range`);
        assert.ok(Number.isInteger(q.volume) && q.volume > 0);
        assert.equal(typeof q.name, 'string');
      }
      const { subscriptions } = await rig.gateway.getSubscriptions();
      for (const symbol of ['US.AAPL', 'HK.00700']) {
        assert.ok(subscriptions.find((s) => s.symbol === symbol)?.subTypes.includes('QUOTE'), `${symbol} QUOTE subscribed`);
      }
    });

    test('a malformed symbol is refused locally with the expected format', async () => {
      await assert.rejects(rig.gateway.getBasicQuotes(['HK:00700']), (err: unknown) => {
        assert.ok(isGatewayError('INVALID_SYMBOL')(err));
        assert.match((err as Error).message, /MARKET\.CODE, e\.g\. HK\.00700/);
        return true;
      });
      await assert.rejects(rig.gateway.getBasicQuotes([]), isGatewayError('INVALID_ARGUMENT'));
    });

    test('getKLines returns the latest bars, oldest first, and subscribes that K-line type', async () => {
      const series = await rig.gateway.getKLines('HK.00700', 'K_DAY', 5);
      assert.equal(series.symbol, 'HK.00700');
      assert.equal(series.klType, 'K_DAY');
      assert.equal(series.rehab, 'FORWARD');
      assert.equal(series.klines.length, 5);
      assertAscendingTimes(series);
      const { subscriptions } = await rig.gateway.getSubscriptions();
      assert.ok(subscriptions.find((s) => s.symbol === 'HK.00700')?.subTypes.includes('K_DAY'));
      await assert.rejects(rig.gateway.getKLines('HK.00700', 'K_DAY', 1001), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.getKLines('HK.00700', 'K_2D' as 'K_DAY', 5), isGatewayError('INVALID_ARGUMENT'));
    });

    test('requestHistoryKLines pages through nextReqKey up to maxCount without gaps or repeats', async () => {
      const query = { symbol: 'US.AAPL', klType: 'K_DAY', begin: '2019-01-01', end: '2026-10-30' } as const;
      const all = await rig.gateway.requestHistoryKLines({ ...query, maxCount: 1500 });
      assert.equal(all.klines.length, 1500, 'more than one 1000-bar page');
      assertAscendingTimes(all);
      assert.ok(all.klines[0]!.time.startsWith('2019-01-0'));
      const few = await rig.gateway.requestHistoryKLines({ ...query, maxCount: 7 });
      assert.deepEqual(few.klines, all.klines.slice(0, 7));
      await assert.rejects(rig.gateway.requestHistoryKLines({ ...query, begin: '2019/01/01', maxCount: 7 }), isGatewayError('INVALID_ARGUMENT'));
    });

    test('getOrderBook returns the requested depth, best prices first', async () => {
      const book = await rig.gateway.getOrderBook('HK.00700', 3);
      assert.equal(book.asks.length, 3);
      assert.equal(book.bids.length, 3);
      assertSortedBook(book);
      await assert.rejects(rig.gateway.getOrderBook('HK.00700', 11), isGatewayError('INVALID_ARGUMENT'));
    });

    test('getTicker returns at most `count` trades with string sequence ids', async () => {
      const ticker = await rig.gateway.getTicker('HK.00700', 5);
      assert.ok(ticker.ticks.length > 0 && ticker.ticks.length <= 5);
      for (const t of ticker.ticks) {
        assert.match(t.sequence, /^\d+$/);
        assert.ok(['BUY', 'SELL', 'NEUTRAL'].includes(t.direction));
        assert.ok(t.price > 0 && Number.isInteger(t.volume));
      }
    });

    test('getRT returns the intraday points of the symbol', async () => {
      const rt = await rig.gateway.getRT('US.AAPL');
      assert.equal(rt.symbol, 'US.AAPL');
      assert.ok(rt.points.length > 0);
      const minutes = rt.points.map((p) => p.minute);
      assert.deepEqual(minutes, [...minutes].sort((a, b) => a - b));
    });

    test('getSnapshots splits more than 400 symbols into several requests', async () => {
      const symbols = Array.from({ length: 401 }, (_, i) => (i % 2 === 0 ? 'HK.00700' : 'US.AAPL'));
      const snapshots = await rig.gateway.getSnapshots(symbols);
      assert.deepEqual(snapshots.map((s) => s.symbol), symbols);
      assert.equal(snapshots[0]!.secType, 'STOCK');
      assert.equal(snapshots[0]!.lotSize, 100);
    });

    test('getStaticInfo by symbols and by market and security type', async () => {
      const bySymbol = await rig.gateway.getStaticInfo(['HK.00700', 'US.AAPL']);
      assert.deepEqual(bySymbol.map((s) => [s.symbol, s.lotSize, s.secType]), [['HK.00700', 100, 'STOCK'], ['US.AAPL', 1, 'STOCK']]);
      assert.ok(bySymbol.every((s) => /^\d+$/.test(s.id)));
      const usStocks = await rig.gateway.getStaticInfo({ market: 'US', secType: 'STOCK' });
      assert.ok(usStocks.length > 1 && usStocks.every((s) => s.symbol.startsWith('US.')));
      assert.ok(usStocks.some((s) => s.symbol === 'US.AAPL'));
    });

    test('getBrokerQueue serves HK and refuses other markets before asking OpenD', async () => {
      const queue = await rig.gateway.getBrokerQueue('HK.00700');
      assert.ok(queue.asks.length > 0 && queue.bids.length > 0);
      assert.ok(queue.asks.every((b) => /^\d+$/.test(b.id) && b.name.length > 0 && b.position >= 1));
      await assert.rejects(rig.gateway.getBrokerQueue('US.AAPL'), (err: unknown) => {
        assert.ok(isGatewayError('INVALID_ARGUMENT')(err));
        assert.match((err as Error).message, /HK securities only/);
        return true;
      });
      const { subscriptions } = await rig.gateway.getSubscriptions();
      assert.ok(!subscriptions.find((s) => s.symbol === 'US.AAPL')?.subTypes.includes('BROKER'));
    });

    test('getPlateSet and getPlateSecurities', async () => {
      const plates = await rig.gateway.getPlateSet('HK', 'CONCEPT');
      const tech = plates.find((p) => p.symbol === 'HK.BK1910');
      assert.ok(tech, 'HK concept plates include HK.BK1910');
      const members = await rig.gateway.getPlateSecurities(tech.symbol);
      assert.deepEqual(members.map((m) => m.symbol).sort(), ['HK.00700', 'HK.03690', 'HK.09988']);
      await assert.rejects(rig.gateway.getPlateSet('JP' as 'HK', 'ALL'), isGatewayError('INVALID_ARGUMENT'));
    });

    test('quote, order book and K-line pushes arrive as typed events once subscribed', async () => {
      const ofSymbol = (x: { symbol: string }): boolean => x.symbol === 'SZ.000001';
      const quote = nextMatching<BasicQuote>(rig.gateway, 'quote', ofSymbol);
      const book = nextMatching<OrderBook>(rig.gateway, 'orderBook', ofSymbol);
      const kline = nextMatching<KLineSeries>(rig.gateway, 'kline', ofSymbol);
      await rig.gateway.subscribe(['SZ.000001'], ['QUOTE', 'ORDER_BOOK', 'K_1M']);
      const [q, b, k] = await Promise.all([quote, book, kline]);
      assert.ok(q.price > 0);
      assertSortedBook(b);
      assert.equal(k.klType, 'K_1M');
      assert.equal(k.klines.length, 1);
    });
  });
}

function assertAscendingTimes(series: KLineSeries): void {
  const times = series.klines.map((k) => k.time);
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! < times[i]!, `bar ${i} after bar ${i - 1}: ${times[i - 1]} < ${times[i]}`);
}

function assertSortedBook(book: OrderBook): void {
  const asks = book.asks.map((l) => l.price);
  const bids = book.bids.map((l) => l.price);
  assert.deepEqual(asks, [...asks].sort((a, b) => a - b));
  assert.deepEqual(bids, [...bids].sort((a, b) => b - a));
  assert.ok(asks[0]! > bids[0]!, 'best ask above best bid');
}
