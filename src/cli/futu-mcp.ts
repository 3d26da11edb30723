#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, isFutuError } from '../shared/errors.js';
import { configureLog, log, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../shared/log.js';
import { SERVER_VERSION, startFutuMcp } from '../mcp/app.js';
import { MARKET_HOURS, parseInstant, type MarketHours } from '../sim/server.js';
import { DEFAULT_SESSION_LIMITS } from '../mcp/http/sessions.js';
import { TOOLS } from '../mcp/tools/index.js';
import { DEFAULT_APPROVAL_TTL_MS, DEFAULT_ELICITATION_TIMEOUT_MS } from '../authz/humanState.js';
import { parseByteSize, parseDurationMs, parsePositiveInteger } from './flagValues.js';
import { splitList } from './output.js';
import { defaultKeysFile, defaultStateDir } from './paths.js';
import { handleSignals } from './signals.js';
import { addStateStoreOptions, redisOptionsOf, type StateStoreFlags } from './stateOptions.js';

/** futu-mcp: the MCP server. stdio by default (spawned by an LLM client), HTTP with --http-listen. */
const program = new Command()
  .name('futu-mcp')
  .version(SERVER_VERSION)
  .description(
    `MCP server for Futu OpenD: ${TOOLS.length} tools (quotes, research, accounts and trading) where every call is authorized by Cedar policies\n` +
      'against the API key\'s scopes and limits, then audited. Serves stdio unless --http-listen is given.',
  )
  .option('--gateway <host:port|sim>', 'OpenD address, or "sim" to run the simulated OpenD in-process', '127.0.0.1:11111')
  .option('--keys-file <path>', 'API keys file written by futucli gen-key', defaultKeysFile())
  .option('--audit-log <path>', 'append-only, hash-chained JSONL audit log (one record per tool call); strongly recommended')
  .addOption(new Option('--audit-max-size <size>', 'rotate the audit log to FILE.1, FILE.2 … once it reaches this size (e.g. 500M, 2G); the hash chain continues across files').argParser(parseByteSize))
  .addOption(new Option('--audit-rotate <when>', 'also rotate the audit log when the UTC day changes').choices(['daily']))
  .addOption(new Option('--audit-keep <n>', 'keep only the newest N rotated audit files (default: keep all)').argParser(parsePositiveInteger))
  .option('--audit-gzip', 'gzip rotated audit files (FILE.N.gz)')
  .option('--http-listen <host:port>', 'serve streamable HTTP at /mcp (plus /metrics, /healthz, /readyz) instead of stdio; binds 127.0.0.1 unless a host is given')
  .option('--api-key <key>', 'startup API key (prefer the FUTU_MCP_API_KEY environment variable: arguments are visible in ps)')
  .option('--policies <dir>', 'Cedar policies directory (default: the policies shipped with this version)')
  .option('--org-policies <dir>', 'your organisation\'s policy directory (*.cedar, tests/), added to the shipped set and kept across upgrades; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--allow-org-permits', 'let --org-policies files hold permits, which can widen what the shipped permits allow (forbids only otherwise)')
  .option('--shadow-policies <dir>', 'candidate policy directory evaluated beside the active set on every call, never deciding; disagreements go to the audit log and metrics')
  .option('--decision-log <path>', 'JSONL file of every Cedar request and decision (no secrets), for futucli policy replay')
  .option('--state-dir <dir>', "this replica's local files; also the per-key limits and trade state (shared by every futu-mcp process on this machine) unless --redis is given", defaultStateDir())
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
  .addOption(new Option('--max-sessions <n>', 'open HTTP MCP sessions across all keys').default(DEFAULT_SESSION_LIMITS.maxSessions).argParser(parsePositiveInteger))
  .addOption(
    new Option('--max-sessions-per-key <n>', "open HTTP MCP sessions of one key; at the cap the key's oldest idle session is closed for the new one")
      .default(DEFAULT_SESSION_LIMITS.maxSessionsPerKey)
      .argParser(parsePositiveInteger),
  )
  .addOption(
    new Option('--session-idle-timeout <duration>', 'close an HTTP MCP session idle this long (90s, 30m, 2h); one that never made a tool call closes after at most 2m')
      .default(DEFAULT_SESSION_LIMITS.idleMs, '30m')
      .argParser(parseDurationMs),
  )
  .addOption(
    new Option('--confirmation-timeout <duration>', 'how long a human has to answer a confirmation form in the client (90s, 2m); no answer refuses the call')
      .default(DEFAULT_ELICITATION_TIMEOUT_MS, '120s')
      .argParser(parseDurationMs),
  )
  .addOption(
    new Option('--approval-ttl <duration>', 'how long an out-of-band confirmation (futucli approve, the approval page) can be approved and used')
      .default(DEFAULT_APPROVAL_TTL_MS, '5m')
      .argParser(parseDurationMs),
  )
  .addOption(new Option('--log-format <format>', 'operational log on stderr: pretty (for a person) or json lines (for a collector); default pretty on a terminal, json otherwise').choices(LOG_FORMATS))
  .addOption(new Option('--log-level <level>', 'operational log level (default: FUTU_LOG_LEVEL, else info)').choices(LOG_LEVELS))
  .option('--no-approval-page', 'do not serve the /approve/<confirmation_id> page on the HTTP listener (approve with futucli approve only)')
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
  FUTU_MCP_REDIS_PASSWORD  Redis password when --redis carries none
  FUTU_TRADE_PWD     trade password for futu_unlock_trade (else the OS keychain: futucli set-trade-pwd)
  FUTU_LOG_LEVEL     debug | info | warn | error (logs go to stderr; --log-level wins)

Key precedence per call: the tool's api_key argument, then the HTTP Bearer token, then the startup key.
The keys file is watched and reloaded when it changes; SIGHUP reloads keys and policies.
A reload that fails validation keeps the running keys or policies.`,
  );

addStateStoreOptions(program);
program.parse();
const opts = program.opts<StateStoreFlags & {
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
  auditMaxSize?: number;
  auditRotate?: 'daily';
  auditKeep?: number;
  auditGzip?: boolean;
  maxSessions: number;
  maxSessionsPerKey: number;
  sessionIdleTimeout: number;
  confirmationTimeout: number;
  approvalTtl: number;
  approvalPage: boolean;
  logFormat?: LogFormat;
  logLevel?: LogLevel;
}>();
configureLog({ format: opts.logFormat, level: opts.logLevel });

const rotates = opts.auditMaxSize !== undefined || opts.auditRotate !== undefined;
if (!opts.auditLog && (rotates || opts.auditKeep !== undefined || opts.auditGzip)) program.error('error: --audit-max-size, --audit-rotate, --audit-keep and --audit-gzip need --audit-log');
if (!rotates && (opts.auditKeep !== undefined || opts.auditGzip)) program.error('error: --audit-keep and --audit-gzip apply to rotated files: add --audit-max-size or --audit-rotate daily');
if (opts.maxSessionsPerKey > opts.maxSessions) {
  program.error(`error: --max-sessions-per-key (${opts.maxSessionsPerKey}) cannot exceed --max-sessions (${opts.maxSessions})`);
}

const signals = handleSignals();

if (opts.apiKey) log.warn('--api-key is visible to other local users in the process list; prefer FUTU_MCP_API_KEY');
if (opts.redis !== undefined && /\/\/[^/@]*:[^/@]*@/.test(opts.redis)) log.warn('the --redis URL carries a password, visible to other local users in the process list; prefer FUTU_MCP_REDIS_PASSWORD');
if (!opts.auditLog) log.warn('no --audit-log: tool calls are not recorded');

try {
  const app = await startFutuMcp({
    gateway: opts.gateway,
    keysFile: opts.keysFile,
    stateDir: opts.stateDir,
    redis: redisOptionsOf(opts),
    auditLog: opts.auditLog,
    auditRotation: rotates ? { maxBytes: opts.auditMaxSize, daily: opts.auditRotate === 'daily', keep: opts.auditKeep, gzip: opts.auditGzip === true } : undefined,
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
    sessionLimits: { maxSessions: opts.maxSessions, maxSessionsPerKey: opts.maxSessionsPerKey, idleMs: opts.sessionIdleTimeout },
    confirmationTimeoutMs: opts.confirmationTimeout,
    approvalTtlMs: opts.approvalTtl,
    approvalPage: opts.approvalPage,
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
