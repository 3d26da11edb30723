import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { demoBanner } from '../../src/cli/banner.js';

const keys = { keysFile: '/demo/keys.json', analyst: `fc_${'a'.repeat(64)}`, trader: `fc_${'b'.repeat(64)}` };
const input = { url: 'http://127.0.0.1:38765/mcp', keys, auditLog: '/demo/audit.jsonl', stateDir: '/demo/state' };

/** The JSON config printed after `heading`. */
function configAfter(banner: string, heading: string): any {
  const start = banner.indexOf('{', banner.indexOf(heading));
  let depth = 0;
  for (let i = start; i < banner.length; i++) {
    depth += banner[i] === '{' ? 1 : banner[i] === '}' ? -1 : 0;
    if (depth === 0) return JSON.parse(banner.slice(start, i + 1));
  }
  throw new Error(`no config after ${heading}`);
}

test('npm start says which key each printed config carries, and why the stdio one cannot trade', () => {
  const banner = demoBanner({ ...input, nowMs: Date.parse('2026-12-02T02:00:00Z') });
  const http = configAfter(banner, 'HTTP client');
  assert.equal(http.mcpServers.futu.headers.Authorization, `Bearer ${keys.trader}`);
  assert.match(banner, /HTTP client .*with the demo-trader key/);
  const stdio = configAfter(banner, 'Claude Desktop');
  assert.equal(stdio.mcpServers.futu.env.FUTU_MCP_API_KEY, keys.analyst);
  assert.match(banner, /demo-analyst key \(read-only: an order is refused with "missing scope trade:simulate"/);
  // The stdio config starts this installation's futu-mcp without PATH: absolute node and script.
  assert.equal(stdio.mcpServers.futu.command, process.execPath);
  assert.ok(existsSync(stdio.mcpServers.futu.args[0]), stdio.mcpServers.futu.args[0]);
  assert.deepEqual(stdio.mcpServers.futu.args.slice(1), ['--gateway', 'sim', '--keys-file', '/demo/keys.json', '--audit-log', '/demo/audit.jsonl', '--state-dir', '/demo/state']);
});

test('npm start prints which markets are open on the simulator clock and how to paper-trade when closed', () => {
  // Wednesday 10:00 in Hong Kong and Shanghai, 21:00 the evening before in New York.
  const weekday = demoBanner({ ...input, nowMs: Date.parse('2026-12-02T02:00:00Z') });
  assert.match(weekday, /^ {2}HK {2}OPEN {4}09:30-12:00, 13:00-16:00 HKT, weekdays$/m);
  assert.match(weekday, /^ {2}US {2}closed {2}09:30-16:00 New York/m);
  assert.match(weekday, /^ {2}SH {2}OPEN /m);
  assert.match(weekday, /Orders fill only while their market is open\./);
  // Sunday: everything closed.
  const sunday = demoBanner({ ...input, nowMs: Date.parse('2026-12-06T02:00:00Z') });
  for (const market of ['HK', 'US', 'SH', 'SZ']) assert.match(sunday, new RegExp(`^  ${market}  closed`, 'm'));
  assert.match(sunday, /All closed: limit orders rest unfilled and market orders are refused until a market opens\./);
  assert.match(sunday, /To paper-trade at any hour, run futu-mcp --gateway sim --sim-market-hours always\n {2}\(or pick the simulated time with --sim-clock\)/);
});
