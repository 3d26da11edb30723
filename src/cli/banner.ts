import { isContinuousTrading } from '../sim/progress.js';
import { httpClientConfig, installedFutuMcp, stdioClientConfig } from './clientConfigs.js';
import type { DemoKeys } from './demoKeys.js';

/** What `npm start` prints once the demo server is up. */
export interface DemoBannerInput {
  readonly url: string;
  readonly keys: DemoKeys;
  readonly auditLog: string;
  readonly stateDir: string;
  /** The embedded simulator's clock, for the market-hours line. */
  readonly nowMs: number;
}

const MARKETS = [
  { code: 'HK', hours: '09:30-12:00, 13:00-16:00 HKT' },
  { code: 'US', hours: '09:30-16:00 New York (UTC-5)' },
  { code: 'SH', hours: '09:30-11:30, 13:00-15:00 CST' },
  { code: 'SZ', hours: '09:30-11:30, 13:00-15:00 CST' },
] as const;

/** One line per market: open or closed now on the simulator's clock, and its hours (weekdays). */
export function marketHoursLines(nowMs: number): string[] {
  return MARKETS.map(({ code, hours }) => `  ${code}  ${isContinuousTrading(code, nowMs) ? 'OPEN  ' : 'closed'}  ${hours}, weekdays`);
}

export function demoBanner({ url, keys, auditLog, stateDir, nowMs }: DemoBannerInput): string {
  const stdio = stdioClientConfig(
    installedFutuMcp(['--gateway', 'sim', '--keys-file', keys.keysFile, '--audit-log', auditLog, '--state-dir', stateDir]),
    keys.analyst,
  );
  const anyOpen = MARKETS.some(({ code }) => isContinuousTrading(code, nowMs));
  return [
    '',
    'futu-mcp is running on the embedded simulated OpenD (paper data, no real money).',
    '',
    `  MCP endpoint   ${url}`,
    `  Metrics        ${url.replace(/\/mcp$/, '/metrics')}`,
    `  Keys file      ${keys.keysFile}`,
    `  Audit log      ${auditLog}   (verify: node dist/src/cli/futucli.js audit verify ${auditLog})`,
    '',
    'Demo API keys (stored in plaintext only under .local/demo for this demo):',
    `  demo-analyst   qot:read, acc:read   (read-only)              ${keys.analyst}`,
    `  demo-trader    qot:read, acc:read, trade:simulate            ${keys.trader}`,
    '                 limits: HK/US only, HKD 50,000 per order, HKD 200,000 a day, 3 orders a minute',
    '',
    'Markets on the simulator clock (it follows real market hours):',
    ...marketHoursLines(nowMs),
    anyOpen
      ? '  Orders fill only while their market is open.'
      : '  All closed: limit orders rest unfilled and market orders are refused until a market opens.',
    '  To paper-trade at any hour, run futu-mcp --gateway sim --sim-market-hours always',
    '  (or pick the simulated time with --sim-clock).',
    '',
    'HTTP client (Claude Code, Cursor, VS Code, any streamable-HTTP MCP client), with the demo-trader key',
    '(reads and paper trading):',
    JSON.stringify(httpClientConfig(url, keys.trader), null, 2),
    '',
    'Claude Desktop (stdio; the client spawns its own futu-mcp with its own embedded simulator), with the',
    'demo-analyst key (read-only: an order is refused with "missing scope trade:simulate"; to paper-trade',
    "from Claude Desktop, put demo-trader's key in FUTU_MCP_API_KEY instead):",
    JSON.stringify(stdio, null, 2),
    '',
    'Try: npm run demo   (a scripted MCP client walks through the three seed conversations)',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
