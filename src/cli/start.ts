#!/usr/bin/env node
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFutuMcp } from '../mcp/app.js';
import { describeError } from '../shared/errors.js';
import { setLogLevel } from '../shared/log.js';
import { demoBanner } from './banner.js';
import { ensureDemoKeys } from './demoKeys.js';
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
  const stateDir = path.join(demoDir, 'state');
  const app = await startFutuMcp({
    gateway: 'sim',
    keysFile: keys.keysFile,
    stateDir,
    auditLog,
    httpListen: listen,
  });
  process.stdout.write(demoBanner({ url: app.url!, keys, auditLog, stateDir, nowMs: app.simulator!.market.now() }));
  signals.ready(app);
  await app.closed;
} catch (err) {
  process.stderr.write(`npm start: ${describeError(err)}\n`);
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(describeError(err))) {
    process.stderr.write(`Another process listens on ${listen}; set FUTU_MCP_DEMO_LISTEN=127.0.0.1:<port> to use another port.\n`);
  }
  process.exit(1);
}
