import path from 'node:path';
import type { ProtocolEra } from '@modelcontextprotocol/server';
import { AuditLog } from '../audit/auditLog.js';
import type { RotationOptions } from '../audit/rotation.js';
import { Authorizer } from '../authz/authorizer.js';
import { DecisionLog } from '../authz/decisionLog.js';
import { AuthzEngine } from '../authz/engine.js';
import { FxConverter, loadFxTable } from '../authz/fx.js';
import { expireDueConfirmations } from '../authz/confirmations.js';
import { DEFAULT_ELICITATION_TIMEOUT_MS } from '../authz/humanState.js';
import { OrderReconciler, type TaggedOrderLookup } from '../authz/reconciler.js';
import { defaultPolicyPaths, type PolicyPaths } from '../authz/policySet.js';
import type { TradeStateStore } from '../authz/tradeState.js';
import { STATE_STORE_DOWN_MESSAGE, type RedisStateOptions } from '../authz/redisState.js';
import { openStateStores } from '../authz/stateStores.js';
import type { ReferencePriceSource } from '../authz/valuation.js';
import { AccountDirectory } from '../gateway/accounts.js';
import { FutuGateway } from '../gateway/api.js';
import type { AccountRef } from '../gateway/types.js';
import { KeyStore } from '../keys/store.js';
import { watchKeysFile, type KeysFileWatch } from '../keys/watch.js';
import { loadTradePasswordMd5 } from '../keys/tradePassword.js';
import { startSimulator, type MarketHours, type SimulatorHandle } from '../sim/server.js';
import { describeError, FutuError, isFutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { assertPrivateStateDir } from '../shared/privateDir.js';
import { PACKAGE_VERSION } from '../shared/version.js';
import { newReplicaId } from '../shared/replicaId.js';
import { startHttpServer, type RunningHttpServer } from './http.js';
import { APPROVAL_PATH_PREFIX } from './http/approvalPage.js';
import type { SessionLimits } from './http/sessions.js';
import { createMetrics, type Metrics } from './metrics.js';
import { CallPipeline } from './pipeline.js';
import { serverInstructions } from './instructions.js';
import { ConfirmationRoundSeal, requestStateKey } from './confirmationRounds.js';
import { ResourceHub } from './resources/hub.js';
import { createMcpServer } from './server.js';
import { startupKeyProblem } from './startupKey.js';
import { serveStdio, type StdioHandle } from './stdio.js';
import { keyToolVisibility } from './toolVisibility.js';
import { TOOLS } from './tools/index.js';
import { findTaggedOrder, orderResult } from './tools/orders.js';

export const SERVER_NAME = 'futu-mcp';
export const SERVER_VERSION: string = PACKAGE_VERSION;

/** The seeds' flags, resolved. */
export interface FutuMcpOptions {
  /** `HOST:PORT` of OpenD, or `sim` for the in-process simulator. */
  readonly gateway: string;
  readonly keysFile: string;
  /** This process's local files; also the limits and trade state unless `redis` is given. */
  readonly stateDir: string;
  /** `--redis`, `--redis-prefix`: limits and trade state shared by replicas in Redis. */
  readonly redis?: RedisStateOptions;
  readonly auditLog?: string;
  /** `--audit-max-size`, `--audit-rotate daily`, `--audit-keep`, `--audit-gzip`. */
  readonly auditRotation?: RotationOptions;
  /** Streamable HTTP on `HOST:PORT`; stdio when absent. */
  readonly httpListen?: string;
  /** The startup key (FUTU_MCP_API_KEY / --api-key). */
  readonly apiKey?: string;
  readonly policiesDir?: string;
  /** --org-policies: the operator's policy directories added to the shipped set. */
  readonly orgPolicies?: readonly string[];
  /** --allow-org-permits: org files may hold permits. */
  readonly allowOrgPermits?: boolean;
  /** --shadow-policies: a candidate policy directory evaluated beside the active set. */
  readonly shadowPolicies?: string;
  /** --decision-log: one JSON line per Cedar decision, for `futucli policy replay`. */
  readonly decisionLog?: string;
  /** OpenD's RSA private key file: enables protocol encryption. */
  readonly rsaKey?: string;
  readonly fxFile?: string;
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  /** Seed of the embedded simulator (`--gateway sim`). */
  readonly simSeed?: number;
  /** Start instant of the embedded simulator's clock (ISO-8601 with an offset); it then advances in real time. */
  readonly simClock?: string;
  /** 'always': the embedded simulator's markets trade continuously whatever its clock says. */
  readonly simMarketHours?: MarketHours;
  /**
   * false: the embedded simulator and this server's write pacer both drop OpenD's order
   * frequency limits, so `npm run bench` measures the trade path rather than 15 orders per 30 s.
   * No command-line flag; refused unless `gateway` is 'sim', so it can never lift the pacing in
   * front of a real OpenD. Default true.
   */
  readonly simOrderRateLimits?: boolean;
  /** Live quote subscriptions one API key's reads may hold (default: a share of OpenD's quota). */
  readonly subQuotaPerKey?: number;
  /** HTTP session caps and idle timeouts (`--max-sessions`, `--max-sessions-per-key`, `--session-idle-timeout`). */
  readonly sessionLimits?: Partial<SessionLimits>;
  /** How long a human has to answer a confirmation form in the client (`--confirmation-timeout`, default 120 s). */
  readonly confirmationTimeoutMs?: number;
  /** How long an out-of-band confirmation can be approved and used (`--approval-ttl`, default 5 min). */
  readonly approvalTtlMs?: number;
  /** false (`--no-approval-page`): no /approve/<id> page on the HTTP listener; futucli approve only. */
  readonly approvalPage?: boolean;
}

export interface RunningFutuMcp {
  readonly gateway: FutuGateway;
  readonly metrics: Metrics;
  /** The MCP endpoint when serving HTTP. */
  readonly url?: string;
  /** The embedded simulator when `--gateway sim`. */
  readonly simulator?: SimulatorHandle;
  readonly policyVersion: () => string;
  /** What SIGHUP does: re-read keys and policies; a failed part keeps the old one. */
  reload(): Promise<{ keys: boolean; policies: boolean }>;
  /** Resolves when the transport ends (stdio EOF, SIGTERM) or close() is called. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** How often intents left by a process or replica that died mid-send are looked for. */
const RECONCILE_INTERVAL_MS = 5_000;

/** The embedded simulator's trade password when the operator configured none (demo only). */
const SIM_DEFAULT_TRADE_PWD = '123456';

export async function startFutuMcp(options: FutuMcpOptions): Promise<RunningFutuMcp> {
  // The schema describes the tools this build has, so it always comes with the package.
  const shipped = defaultPolicyPaths();
  const org = { orgDirs: (options.orgPolicies ?? []).map((d) => path.resolve(d)), allowOrgPermits: options.allowOrgPermits === true };
  const policyPaths: PolicyPaths = { ...shipped, ...(options.policiesDir ? { policiesDir: path.resolve(options.policiesDir) } : {}), ...org };
  // The candidate replaces the shipped directory; the organisation's own files apply to both.
  const shadow = options.shadowPolicies ? { ...policyPaths, policiesDir: path.resolve(options.shadowPolicies) } : undefined;
  // Everything that can refuse to start is opened before any socket: fail fast, fail closed.
  const keys = await KeyStore.openOffThread(options.keysFile);
  const engine = AuthzEngine.load(policyPaths, { shadow });
  // One id for this replica, in its audit records and (with --redis) its locks, intents and heartbeat.
  const replicaId = newReplicaId();
  const audit = options.auditLog ? AuditLog.open(options.auditLog, { rotation: options.auditRotation, replica: replicaId }) : undefined;
  const decisionLog = options.decisionLog ? DecisionLog.open(options.decisionLog) : undefined;
  assertPrivateStateDir(options.stateDir);
  const roundKey = await requestStateKey(options.stateDir);
  const state = await openStateStores({ stateDir: options.stateDir, replicaId, redis: options.redis });
  const { ledger, trades } = state;
  const fx = options.fxFile ? new FxConverter(loadFxTable(options.fxFile)) : undefined;
  const metrics = createMetrics({ knownTools: TOOLS.map((t) => t.name) });
  metrics.setPolicyVersion(engine.version);
  metrics.setStateStoreUp(state.isUp());
  state.onChange((up) => metrics.setStateStoreUp(up));

  if (options.gateway !== 'sim' && (options.simClock !== undefined || options.simMarketHours !== undefined || options.simOrderRateLimits !== undefined)) {
    throw new FutuError('INVALID_ARGUMENT', 'the simulator clock, market hours and order rate limits apply only with --gateway sim');
  }
  const simulator = options.gateway === 'sim' ? await startEmbeddedSimulator(options) : undefined;
  const target = simulator ? { host: simulator.host, port: simulator.port } : parseHostPort(options.gateway);
  const gateway = new FutuGateway({
    ...target,
    rsaPrivateKey: options.rsaKey,
    clientId: SERVER_NAME,
    subscriptionsPerHolder: options.subQuotaPerKey,
    pacing: { liftOpenDLimits: simulator !== undefined && options.simOrderRateLimits === false },
  });
  gateway.on('connected', () => metrics.setGatewayUp(true));
  gateway.on('reconnected', () => metrics.setGatewayUp(true));
  gateway.on('disconnected', () => metrics.setGatewayUp(false));
  gateway.start();
  const accounts = new AccountDirectory(gateway);

  const reconciler = new OrderReconciler({
    trades,
    ledger,
    lookup: taggedOrders(gateway),
    onResolved: async ({ intent, resolution, orderId }) => {
      await audit?.append({
        event: 'order_reconciled',
        key_id: intent.keyId,
        decision: 'allow',
        outcome: 'success',
        resolution,
        env: intent.env,
        acc_id: intent.accId,
        symbol: intent.symbol,
        order_id: orderId,
        client_order_id: intent.clientOrderId,
        value: intent.value,
        currency: intent.currency,
      });
    },
  });
  // Orders whose outcome a dropped link (or a crash) left unknown are looked up as soon as OpenD (or Redis) answers again.
  gateway.on('connected', () => void reconciler.reconcileAll());
  gateway.on('reconnected', () => void reconciler.reconcileAll());
  state.onChange((up) => up && gateway.isConnected && void reconciler.reconcileAll());
  // And periodically: the holder of an intent may be another process or replica that died mid-send.
  const reconcileTimer = setInterval(() => gateway.isConnected && void reconciler.reconcileAll(), RECONCILE_INTERVAL_MS);
  reconcileTimer.unref();
  await trades.prune(Date.now()).catch((err) => log.warn('could not prune old trade state', { error: describeError(err) }));
  const authorizer = new Authorizer({ engine, ledger, fx, prices: referencePrices(gateway), trades, reconciler, approvalTtlMs: options.approvalTtlMs });
  // Known once the HTTP listener is up: where a human approves a confirmation in a browser.
  let approvalBase: string | undefined;
  const pipeline = new CallPipeline({
    tools: TOOLS,
    keys,
    engine,
    authorizer,
    gateway,
    accounts,
    metrics,
    audit,
    decisionLog,
    startupKey: options.apiKey,
    tradePasswordMd5: async () => (await loadTradePasswordMd5()).md5,
    confirmationTimeoutMs: options.confirmationTimeoutMs,
    approvalUrl: (id) => (approvalBase === undefined ? undefined : `${approvalBase}${APPROVAL_PATH_PREFIX}${id}`),
  });
  const resources = new ResourceHub({ reader: pipeline, tools: TOOLS, gateway, accounts, metrics });
  /** After a key reload: what was kept per key id is dropped for ids keys.json no longer has. */
  const retainKeys = (): void => {
    metrics.retainKeys((keyId) => keys.has(keyId));
    pipeline.retainKeys((keyId) => keys.has(keyId));
  };
  const visibility = keyToolVisibility(keys, options.apiKey, TOOLS);
  const instructions = serverInstructions(TOOLS.map((t) => t.name));
  // 2026-07-28 confirmations are sealed for the client's retry with a key every server sharing the state dir holds.
  const roundSeal = new ConfirmationRoundSeal(roundKey, options.confirmationTimeoutMs ?? DEFAULT_ELICITATION_TIMEOUT_MS);
  const createServer = ({ era }: { era: ProtocolEra }) =>
    createMcpServer({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      tools: TOOLS,
      handleCall: pipeline.handleCall,
      onRefused: pipeline.onRefused,
      instructions,
      visibility,
      era,
      // Over HTTP a 2026-07-28 request has a server of its own; over stdio the connection does.
      lifetime: era === 'modern' && options.httpListen ? 'request' : 'connection',
      roundSeal,
      resources,
    });

  let http: RunningHttpServer | undefined;
  let stdio: StdioHandle | undefined;
  try {
    if (options.httpListen) {
      http = await startHttpServer({
        listen: options.httpListen,
        createServer,
        authenticate: async (token) => {
          const key = keys.authenticate(token);
          return { keyId: key.id, scopes: key.scopes, key };
        },
        health: {
          ready: () => gateway.isConnected && state.isUp(),
          notReadyReason: () => (gateway.isConnected ? STATE_STORE_DOWN_MESSAGE : gateway.client.notConnectedError().message),
        },
        metrics,
        resourceName: SERVER_NAME,
        allowedHosts: options.allowedHosts,
        allowedOrigins: options.allowedOrigins,
        onRefused: pipeline.onHttpRefused,
        resources,
        sessionLimits: options.sessionLimits,
        ...(options.approvalPage !== false && { approvals: { store: trades, onAnswer: (c) => pipeline.auditPageAnswer(c) } }),
      });
      if (options.approvalPage !== false) approvalBase = new URL(http.url).origin;
      const running = http;
      visibility.onReload(() => running.toolsChanged());
    } else {
      const keyProblem = startupKeyProblem(keys, options.apiKey);
      if (keyProblem !== undefined) log.warn(keyProblem);
      stdio = serveStdio(createServer, resources);
    }
  } catch (err) {
    // A start that failed (EADDRINUSE, ...) is recorded as one, not as a successful startup.
    reconciler.stop();
    clearInterval(reconcileTimer);
    await gateway.close();
    await simulator?.close();
    await state.close();
    await audit
      ?.append({ event: 'startup', outcome: 'failure', reason: describeError(err), code: isFutuError(err) ? err.code : 'STARTUP_FAILED', policy_version: engine.version })
      .catch(() => undefined);
    await audit?.close();
    throw err;
  }
  // Queued before this turn ends, so ahead of any call the transport can have taken in.
  const started = audit?.append({ event: 'startup', outcome: 'success', reason: null, code: null, policy_version: engine.version });
  const humanLoop = watchHumanLoop(trades, metrics, pipeline);

  let keysWatch: KeysFileWatch | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      keysWatch?.close();
      await http?.close();
      stdio?.close();
      resources.close();
      reconciler.stop();
      humanLoop.stop();
      clearInterval(reconcileTimer);
      await gateway.close();
      await simulator?.close();
      await decisionLog?.close();
      await state.close();
      if (audit) {
        pipeline.flushRefusals();
        await audit.append({ event: 'shutdown', outcome: 'success', reason: null, code: null, policy_version: engine.version }).catch(() => undefined);
        await audit.close();
        // The head hash is the operator's anchor for `futucli audit verify --expect-head`.
        log.info('audit log closed', { file: audit.path, head: audit.head.hash, seq: audit.head.seq });
      }
      resolveClosed();
    })();
    return closing;
  };
  void stdio?.closed.then(close);

  try {
    await started;
  } catch (err) {
    await close();
    throw err;
  }
  // keys.json changes (a revoke-key, an edit) apply by themselves, with SIGHUP's validation:
  // a file that fails it keeps the running keys. Policies still reload on SIGHUP only.
  keysWatch = watchKeysFile(options.keysFile, async () => {
    // Off-thread, like SIGHUP's: calls go on being answered from the running keys meanwhile.
    const result = await keys.reloadOffThread();
    if (result.ok) retainKeys();
    await audit
      ?.append({ event: 'reload', outcome: result.ok ? 'success' : 'failure', reason: result.ok ? 'keys file changed' : result.error.message, code: result.ok ? null : 'RELOAD_FAILED', policy_version: engine.version })
      .catch((err) => log.error('could not audit the reload', { error: describeError(err) }));
    visibility.reloaded();
    log.info('keys file changed; reload finished', { keys: result.ok });
  });

  return {
    gateway,
    metrics,
    url: http?.url,
    simulator,
    policyVersion: () => engine.version,
    closed,
    close,
    reload: async () => {
      keysWatch?.markLoaded();
      // Parsing, validating and testing run on worker threads; calls are served meanwhile by the
      // running keys and policies, and each is replaced in one step once its successor is ready.
      const [keyResult, policies] = await Promise.all([
        keys.reloadOffThread(),
        engine.reloadOffThread().then(
          (report) => ({ ok: true as const, report }),
          (err: unknown) => ({ ok: false as const, problem: describeError(err) }),
        ),
      ]);
      if (keyResult.ok) retainKeys();
      const policiesOk = policies.ok;
      let policyProblem: string | null = null;
      if (policies.ok) {
        metrics.setPolicyVersion(engine.version);
        const shadow = policies.report.shadow;
        if (shadow?.problem) policyProblem = `shadow policies kept ${shadow.version}: ${shadow.problem}`;
      } else {
        policyProblem = policies.problem;
        log.error('policy reload failed; the running policies stay in force', { reason: policyProblem });
      }
      const ok = keyResult.ok && policiesOk;
      const reason = [keyResult.ok ? null : keyResult.error.message, policyProblem].filter(Boolean).join('; ') || null;
      await audit
        ?.append({ event: 'reload', outcome: ok ? 'success' : 'failure', reason, code: ok ? null : 'RELOAD_FAILED', policy_version: engine.version })
        .catch((err) => log.error('could not audit the reload', { error: describeError(err) }));
      // Connections whose key's tools changed are told to list them again (queued before the log line tests wait for).
      visibility.reloaded();
      log.info('reload finished', { keys: keyResult.ok, policies: policiesOk, policy_version: engine.version });
      return { keys: keyResult.ok, policies: policiesOk };
    },
  };
}

async function startEmbeddedSimulator(options: FutuMcpOptions): Promise<SimulatorHandle> {
  const seed = options.simSeed ?? 7;
  const simulator = await startSimulator({
    port: 0,
    seed,
    tradePwd: process.env.FUTU_TRADE_PWD?.trim() || SIM_DEFAULT_TRADE_PWD,
    clock: options.simClock,
    marketHours: options.simMarketHours,
    orderRateLimits: options.simOrderRateLimits,
  });
  log.info('embedded simulator running', {
    address: simulator.address,
    seed,
    clock: new Date(simulator.market.now()).toISOString(),
    market_hours: options.simMarketHours ?? 'real',
  });
  return simulator;
}

export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new FutuError('INVALID_ARGUMENT', `invalid address "${text}": expected HOST:PORT, e.g. 127.0.0.1:11111`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** Finds an intent's order at OpenD by the tag in its remark (see OrderReconciler). */
function taggedOrders(gateway: FutuGateway): TaggedOrderLookup {
  return {
    async find(intent) {
      const account = { accId: intent.accId, env: intent.env, trdMarket: intent.trdMarket } as AccountRef;
      const order = await findTaggedOrder(gateway, account, intent.tag);
      return order && { orderId: order.orderId, result: { ...orderResult(account, order), ...(intent.clientOrderId === null ? {} : { client_order_id: intent.clientOrderId }) } };
    },
  };
}

/**
 * MARKET orders and sells are valued from a snapshot's best bid/ask and last price: a snapshot
 * needs no subscription, so however many slots readers hold, orders can still be valued.
 */
export function referencePrices(gateway: FutuGateway): ReferencePriceSource {
  return {
    async bestPrices(symbol) {
      const [snapshot] = await gateway.getSnapshots([symbol]);
      return { bid: snapshot?.bidPrice, ask: snapshot?.askPrice, last: snapshot?.price };
    },
  };
}

/**
 * What humans do happens outside any call, so a timer looks at it once a second: the
 * futu_trading_halted gauge from the halts in force (trade decisions read the halts themselves);
 * the queued human events (futucli approve / reject / halt / resume) written to this server's
 * audit log, each by exactly one of the servers sharing the state; and confirmations whose time
 * ran out, moved to expired and audited by whichever server moved them.
 */
function watchHumanLoop(trades: TradeStateStore, metrics: Metrics, pipeline: CallPipeline): { stop(): void } {
  let running = false;
  const step = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (err) {
      log.warn(`could not ${what}`, { error: describeError(err) });
    }
  };
  const check = async () => {
    if (running) return;
    running = true;
    try {
      await step('read the halts in force', async () => metrics.setHalted((await trades.halts()).map((h) => h.keyId ?? '*')));
      await step('audit what humans did through futucli', () => trades.drainHumanEvents(async (events) => {
        for (const event of events) await pipeline.auditHumanEvent(event);
      }));
      await step('expire confirmations whose time ran out', () => expireDueConfirmations(trades, (c) => pipeline.auditExpiry(c)));
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), HUMAN_LOOP_WATCH_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const HUMAN_LOOP_WATCH_MS = 1000;
