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
import { measureLevel, startBareServer, writeBenchKey } from './mcp.js';

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
  const futu = await startFutuMcp({
    gateway: 'sim',
    simClock: SATURDAY,
    simOrderRateLimits: false,
    keysFile,
    stateDir: path.join(dir, 'state'),
    auditLog: path.join(dir, 'audit.jsonl'),
    httpListen: '127.0.0.1:0',
  });
  const bare = await startBareServer(futu.simulator!.port, [placeOrder as AnyFutuTool, cancelOrder as AnyFutuTool], { liftOpenDLimits: true });
  try {
    const deadline = Date.now() + 10_000;
    while (!futu.gateway.isConnected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const [snapshot] = await futu.gateway.getSnapshots([SYMBOL]);
    const order = { symbol: SYMBOL, side: 'BUY', order_type: 'LIMIT', qty: 100, price: snapshot!.price };
    const workload = { kind: 'place-cancel', order } as const;
    const targets = [
      { label: 'futu-mcp', url: futu.url! },
      { label: 'bare', url: bare.http.url },
    ];
    console.log(`futu_place_order ${JSON.stringify(order)} + futu_cancel_order of it over Streamable HTTP (each call counted)`);
    await measureLevel(targets, token, CLIENTS, workload);
  } finally {
    // The simulator is futu-mcp's: the bare server leaves it first.
    await bare.close();
    await futu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchTrade();
