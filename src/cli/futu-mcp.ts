#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, isFutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { SERVER_VERSION, startFutuMcp } from '../mcp/app.js';
import { MARKET_HOURS, parseInstant, type MarketHours } from '../sim/server.js';
import { splitList } from './output.js';
import { defaultKeysFile, defaultStateDir } from './paths.js';
import { handleSignals } from './signals.js';

/** futu-mcp: the MCP server. stdio by default (spawned by an LLM client), HTTP with --http-listen. */
const program = new Command()
  .name('futu-mcp')
  .version(SERVER_VERSION)
  .description(
    'MCP server for Futu OpenD: 20 tools (quotes, accounts, trading) where every call is authorized by Cedar policies\n' +
      'against the API key\'s scopes and limits, then audited. Serves stdio unless --http-listen is given.',
  )
  .option('--gateway <host:port|sim>', 'OpenD address, or "sim" to run the simulated OpenD in-process', '127.0.0.1:11111')
  .option('--keys-file <path>', 'API keys file written by futucli gen-key', defaultKeysFile())
  .option('--audit-log <path>', 'append-only, hash-chained JSONL audit log (one record per tool call); strongly recommended')
  .option('--http-listen <host:port>', 'serve streamable HTTP at /mcp (plus /metrics, /healthz, /readyz) instead of stdio; binds 127.0.0.1 unless a host is given')
  .option('--api-key <key>', 'startup API key (prefer the FUTU_MCP_API_KEY environment variable: arguments are visible in ps)')
  .option('--policies <dir>', 'Cedar policies directory (default: the policies shipped with this version)')
  .option('--org-policies <dir>', 'your organisation\'s policy directory (*.cedar, tests/), added to the shipped set and kept across upgrades; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--allow-org-permits', 'let --org-policies files hold permits, which can widen what the shipped permits allow (forbids only otherwise)')
  .option('--shadow-policies <dir>', 'candidate policy directory evaluated beside the active set on every call, never deciding; disagreements go to the audit log and metrics')
  .option('--decision-log <path>', 'JSONL file of every Cedar request and decision (no secrets), for futucli policy replay')
  .option('--state-dir <dir>', 'where per-key limit counters persist (shared by every futu-mcp process on this machine)', defaultStateDir())
  .option('--rsa-key <file>', 'OpenD RSA private key (PKCS#1 PEM, same as OpenD\'s rsa_private_key): encrypts the OpenD link')
  .option('--fx-file <file>', 'JSON FX table overriding the shipped rates used to value orders in the key\'s limit currency')
  .addOption(
    new Option('--sub-quota-per-key <n>', 'live quote subscriptions one API key may hold (default: a third of OpenD\'s quota less a tenth kept free)').argParser((value) => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
      return n;
    }),
  )
  .addOption(new Option('--allowed-hosts <list>', 'extra Host header names accepted by the HTTP server (comma-separated)'))
  .addOption(new Option('--allowed-origins <list>', 'extra browser Origins accepted by the HTTP server (comma-separated)'))
  .addOption(new Option('--sim-seed <n>', 'seed of the simulated market with --gateway sim').default(7).argParser((v) => Number.parseInt(v, 10)))
  .addOption(
    new Option('--sim-clock <iso>', 'with --gateway sim: start the simulator\'s clock at this instant (e.g. 2026-12-03T10:00:00+08:00), then advance in real time').argParser(
      (value) => {
        if (parseInstant(value) === undefined) throw new InvalidArgumentError('expected an ISO-8601 instant with a time and an offset, e.g. 2026-12-03T10:00:00+08:00');
        return value;
      },
    ),
  )
  .addOption(new Option('--sim-market-hours <mode>', 'with --gateway sim: "always" keeps every market in continuous trading whatever the clock says').choices(MARKET_HOURS))
  .addHelpText(
    'after',
    `
Environment:
  FUTU_MCP_API_KEY   startup API key (stdio clients send no Authorization header)
  FUTU_TRADE_PWD     trade password for futu_unlock_trade (else the OS keychain: futucli set-trade-pwd)
  FUTU_LOG_LEVEL     debug | info | warn | error (logs go to stderr)

Key precedence per call: the tool's api_key argument, then the HTTP Bearer token, then the startup key.
Send SIGHUP to reload keys and policies (a failed reload keeps the old ones).`,
  );

program.parse();
const opts = program.opts<{
  gateway: string;
  keysFile: string;
  auditLog?: string;
  httpListen?: string;
  apiKey?: string;
  policies?: string;
  orgPolicies: string[];
  allowOrgPermits?: boolean;
  shadowPolicies?: string;
  decisionLog?: string;
  stateDir: string;
  rsaKey?: string;
  fxFile?: string;
  allowedHosts?: string;
  allowedOrigins?: string;
  simSeed: number;
  simClock?: string;
  simMarketHours?: MarketHours;
  subQuotaPerKey?: number;
}>();

const signals = handleSignals();

if (opts.apiKey) log.warn('--api-key is visible to other local users in the process list; prefer FUTU_MCP_API_KEY');
if (!opts.auditLog) log.warn('no --audit-log: tool calls are not recorded');

try {
  const app = await startFutuMcp({
    gateway: opts.gateway,
    keysFile: opts.keysFile,
    stateDir: opts.stateDir,
    auditLog: opts.auditLog,
    httpListen: opts.httpListen,
    apiKey: opts.apiKey ?? process.env.FUTU_MCP_API_KEY?.trim(),
    policiesDir: opts.policies,
    orgPolicies: opts.orgPolicies,
    allowOrgPermits: opts.allowOrgPermits,
    shadowPolicies: opts.shadowPolicies,
    decisionLog: opts.decisionLog,
    rsaKey: opts.rsaKey,
    fxFile: opts.fxFile,
    allowedHosts: opts.allowedHosts ? splitList(opts.allowedHosts) : undefined,
    allowedOrigins: opts.allowedOrigins ? splitList(opts.allowedOrigins) : undefined,
    simSeed: opts.simSeed,
    simClock: opts.simClock,
    simMarketHours: opts.simMarketHours,
    subQuotaPerKey: opts.subQuotaPerKey,
  });
  log.info('futu-mcp ready', { transport: app.url ? 'http' : 'stdio', url: app.url, policy_version: app.policyVersion() });
  signals.ready(app);
  await app.closed;
  process.exit(0);
} catch (err) {
  log.error('futu-mcp could not start', { code: isFutuError(err) ? err.code : 'STARTUP_FAILED', error: describeError(err) });
  process.stderr.write(`futu-mcp: ${describeError(err)}\n`);
  process.exit(1);
}
