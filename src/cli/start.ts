#!/usr/bin/env node
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFutuMcp } from '../mcp/app.js';
import { describeError } from '../shared/errors.js';
import { setLogLevel } from '../shared/log.js';
import { httpClientConfig, stdioClientConfig } from './clientConfigs.js';
import { ensureDemoKeys, type DemoKeys } from './demoKeys.js';
import { handleSignals } from './signals.js';

/**
 * `npm start`: the product on the embedded simulator. HTTP on 127.0.0.1:38765 (override with
 * FUTU_MCP_DEMO_LISTEN), demo keys created on first run under .local/demo (git-ignored), and
 * ready-to-paste client configs. Everything is paper: the simulator holds no real money.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const demoDir = path.join(repoRoot, '.local', 'demo');
const listen = process.env.FUTU_MCP_DEMO_LISTEN ?? '127.0.0.1:38765';

if (!process.env.FUTU_LOG_LEVEL) setLogLevel('warn');

const signals = handleSignals();

try {
  const keys = ensureDemoKeys(demoDir);
  const auditLog = path.join(demoDir, 'audit.jsonl');
  const app = await startFutuMcp({
    gateway: 'sim',
    keysFile: keys.keysFile,
    stateDir: path.join(demoDir, 'state'),
    auditLog,
    httpListen: listen,
  });
  process.stdout.write(banner(app.url!, keys, auditLog));
  signals.ready(app);
  await app.closed;
} catch (err) {
  process.stderr.write(`npm start: ${describeError(err)}\n`);
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(describeError(err))) {
    process.stderr.write(`Another process listens on ${listen}; set FUTU_MCP_DEMO_LISTEN=127.0.0.1:<port> to use another port.\n`);
  }
  process.exit(1);
}

function banner(url: string, keys: DemoKeys, auditLog: string): string {
  const bin = path.join(repoRoot, 'dist', 'src', 'cli', 'futu-mcp.js');
  const stdio = stdioClientConfig(
    { command: process.execPath, args: [bin, '--gateway', 'sim', '--keys-file', keys.keysFile, '--audit-log', auditLog, '--state-dir', path.join(demoDir, 'state')] },
    keys.analyst,
  );
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
    `  demo-analyst   qot:read, acc:read                          ${keys.analyst}`,
    `  demo-trader    qot:read, acc:read, trade:simulate          ${keys.trader}`,
    '                 limits: HK/US only, HKD 50,000 per order, HKD 200,000 a day, 3 orders a minute',
    '',
    'HTTP client (Claude Code, Cursor, VS Code, any streamable-HTTP MCP client):',
    JSON.stringify(httpClientConfig(url, keys.trader), null, 2),
    '',
    'Claude Desktop (stdio; the client spawns its own futu-mcp with its own embedded simulator):',
    JSON.stringify(stdio, null, 2),
    '',
    'Try: npm run demo   (a scripted MCP client walks through the three seed conversations)',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
