/**
 * The trade path over MCP Streamable HTTP: each of 16 sessions places a LIMIT BUY of HK.00700 and
 * cancels that order again, for (a) futu-mcp (key lookup, Cedar, order ownership, ledger
 * reservation and release, intent record and remark tag, audit with fdatasync) and (b) the bare
 * passthrough of bench/mcp.ts running the same two tools against the same simulator. The load,
 * the alternating rounds and the printed figures are bench/mcp.ts's (same BENCH_MCP_* knobs,
 * except BENCH_TRADE_CLIENTS, default 16); every call, place or cancel, counts as one.
 *
 * OpenD allows 15 PlaceOrder and 20 ModifyOrder per 30 s per account, which the simulator and
 * futu-mcp's write pacer both enforce: measured as shipped, both servers would show exactly that
 * limit. So the simulator runs with orderRateLimits off and both servers' pacers with
 * liftOpenDLimits (futu-mcp only allows that for its embedded simulator). The minimum gaps
 * (25 ms between places, 45 ms between cancels of one account) go too: one account would cap both
 * servers at about 20 place+cancel pairs a second, again the same figure for both. Writes of one
 * account still go one at a time, as in production.
 *
 * The simulator's clock stands on a Saturday, so the orders rest and are cancelled, never filled.
 *
 * Shared state: the same run measures a second futu-mcp (its own embedded simulator, set up the
 * same way) keeping its limits and trade state in Redis (--redis, a redis-server of the bench's
 * own on loopback) instead of the state directory, and prints Redis / file-state throughput.
 * The issue's goal: Redis costs at most 15 % of it. Skipped when redis-server is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NO_LIMITS } from '../src/keys/types.js';
import { startFutuMcp } from '../src/mcp/app.js';
import { cancelOrder } from '../src/mcp/tools/cancel_order.js';
import type { AnyFutuTool } from '../src/mcp/tools/kit.js';
import { placeOrder } from '../src/mcp/tools/place_order.js';
import { setLogLevel } from '../src/shared/log.js';
import { RedisServer } from '../test/helpers/service.js';
import { measureLevel, median, startBareServer, writeBenchKey } from './mcp.js';

const CLIENTS = Number(process.env.BENCH_TRADE_CLIENTS ?? 16);
const SATURDAY = '2026-12-05T10:00:00+08:00';
const SYMBOL = 'HK.00700';

async function benchTrade(): Promise<void> {
  setLogLevel('warn');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'futu-bench-trade-'));
  const keysFile = path.join(dir, 'keys.json');
  // No order rate limit; a daily value and a cancel cap far above what the run uses, so the
  // ledger's reservation and release run on every order without ever refusing one.
  const token = writeBenchKey(keysFile, 'bench-trader', ['trade:simulate'], { ...NO_LIMITS, max_daily_value: 1e12, max_cancels_per_minute: 1e9 });
  const serverOptions = (name: string) => ({
    gateway: 'sim',
    simClock: SATURDAY,
    simOrderRateLimits: false,
    keysFile,
    stateDir: path.join(dir, `${name}.state`),
    auditLog: path.join(dir, `${name}.audit.jsonl`),
    httpListen: '127.0.0.1:0',
  });
  const futu = await startFutuMcp(serverOptions('file'));
  const redis = await RedisServer.start().catch((err: Error) => {
    console.log(`(Redis state not measured: ${err.message.split('\n')[0]})`);
    return undefined;
  });
  const shared = redis && (await startFutuMcp({ ...serverOptions('redis'), redis: { url: redis.url, prefix: 'bench:' } }));
  const bare = await startBareServer(futu.simulator!.port, [placeOrder as AnyFutuTool, cancelOrder as AnyFutuTool], { liftOpenDLimits: true });
  try {
    const deadline = Date.now() + 10_000;
    while (!(futu.gateway.isConnected && (shared?.gateway.isConnected ?? true)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const [snapshot] = await futu.gateway.getSnapshots([SYMBOL]);
    const order = { symbol: SYMBOL, side: 'BUY', order_type: 'LIMIT', qty: 100, price: snapshot!.price };
    const workload = { kind: 'place-cancel', order } as const;
    const targets = [
      { label: 'futu-mcp', url: futu.url! },
      ...(shared ? [{ label: 'redis', url: shared.url! }] : []),
      { label: 'bare', url: bare.http.url },
    ];
    console.log(`futu_place_order ${JSON.stringify(order)} + futu_cancel_order of it over Streamable HTTP (each call counted)`);
    console.log('futu-mcp: limits and trade state in the state directory; redis: the same in Redis (1 replica)');
    const rounds = await measureLevel(targets, token, CLIENTS, workload);
    const file = rounds.get('futu-mcp')!;
    const inRedis = rounds.get('redis');
    if (inRedis) {
      const ratios = inRedis.map((r, i) => r.perSecond / file[i]!.perSecond);
      const ratio = median(ratios);
      console.log(
        `ratio     redis / file state = ${ratio.toFixed(2)} (Redis costs ${Math.round((1 - ratio) * 100)} % of the trade path's throughput; goal ≤ 15 %), median of rounds ${ratios.map((r) => r.toFixed(2)).join(' / ')}`,
      );
    }
  } finally {
    // The simulator is futu-mcp's: the bare server leaves it first.
    await bare.close();
    await futu.close();
    await shared?.close();
    await redis?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchTrade();
