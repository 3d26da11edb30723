import path from 'node:path';
import { createRequire } from 'node:module';
import { AuditLog } from '../audit/auditLog.js';
import { Authorizer } from '../authz/authorizer.js';
import { DecisionLog } from '../authz/decisionLog.js';
import { AuthzEngine } from '../authz/engine.js';
import { FxConverter, loadFxTable } from '../authz/fx.js';
import { FileTradeState } from '../authz/fileTradeState.js';
import { LimitsLedger } from '../authz/ledger.js';
import { OrderReconciler, type TaggedOrderLookup } from '../authz/reconciler.js';
import { defaultPolicyPaths, type PolicyPaths } from '../authz/policySet.js';
import type { ReferencePriceSource } from '../authz/valuation.js';
import { AccountDirectory } from '../gateway/accounts.js';
import { FutuGateway } from '../gateway/api.js';
import type { AccountRef } from '../gateway/types.js';
import { KeyStore } from '../keys/store.js';
import { loadTradePasswordMd5 } from '../keys/tradePassword.js';
import { startSimulator, type MarketHours, type SimulatorHandle } from '../sim/server.js';
import { describeError, FutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { startHttpServer, type RunningHttpServer } from './http.js';
import { createMetrics, type Metrics } from './metrics.js';
import { CallPipeline } from './pipeline.js';
import { createMcpServer } from './server.js';
import { serveStdio, type StdioHandle } from './stdio.js';
import { TOOLS } from './tools/index.js';
import { findTaggedOrder, orderResult } from './tools/orders.js';

export const SERVER_NAME = 'futu-mcp';
export const SERVER_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** The seeds' flags, resolved. */
export interface FutuMcpOptions {
  /** `HOST:PORT` of OpenD, or `sim` for the in-process simulator. */
  readonly gateway: string;
  readonly keysFile: string;
  readonly stateDir: string;
  readonly auditLog?: string;
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
  /** Live quote subscriptions one API key's reads may hold (default: a share of OpenD's quota). */
  readonly subQuotaPerKey?: number;
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
  const keys = KeyStore.open(options.keysFile);
  const engine = AuthzEngine.load(policyPaths, { shadow });
  const audit = options.auditLog ? AuditLog.open(options.auditLog) : undefined;
  const decisionLog = options.decisionLog ? DecisionLog.open(options.decisionLog) : undefined;
  const ledger = new LimitsLedger({ stateDir: options.stateDir });
  const fx = options.fxFile ? new FxConverter(loadFxTable(options.fxFile)) : undefined;
  const metrics = createMetrics({ knownTools: TOOLS.map((t) => t.name) });
  metrics.setPolicyVersion(engine.version);

  if (options.gateway !== 'sim' && (options.simClock !== undefined || options.simMarketHours !== undefined)) {
    throw new FutuError('INVALID_ARGUMENT', 'the simulator clock and market hours apply only with --gateway sim');
  }
  const simulator = options.gateway === 'sim' ? await startEmbeddedSimulator(options) : undefined;
  const target = simulator ? { host: simulator.host, port: simulator.port } : parseHostPort(options.gateway);
  const gateway = new FutuGateway({ ...target, rsaPrivateKey: options.rsaKey, clientId: SERVER_NAME, subscriptionsPerHolder: options.subQuotaPerKey });
  gateway.on('connected', () => metrics.setGatewayUp(true));
  gateway.on('reconnected', () => metrics.setGatewayUp(true));
  gateway.on('disconnected', () => metrics.setGatewayUp(false));
  gateway.start();
  const accounts = new AccountDirectory(gateway);

  const trades = new FileTradeState({ stateDir: options.stateDir });
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
  // Orders whose outcome a dropped link (or a crash) left unknown are looked up as soon as OpenD answers again.
  gateway.on('connected', () => void reconciler.reconcileAll());
  gateway.on('reconnected', () => void reconciler.reconcileAll());
  await trades.prune(Date.now()).catch((err) => log.warn('could not prune old trade state', { error: describeError(err) }));
  const authorizer = new Authorizer({ engine, ledger, fx, prices: referencePrices(gateway), trades, reconciler });
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
  });
  const createServer = () =>
    createMcpServer({ name: SERVER_NAME, version: SERVER_VERSION, tools: TOOLS, handleCall: pipeline.handleCall, onRefused: pipeline.onRefused });

  await audit?.append({ event: 'startup', outcome: 'success', reason: null, code: null, policy_version: engine.version });

  let http: RunningHttpServer | undefined;
  let stdio: StdioHandle | undefined;
  if (options.httpListen) {
    http = await startHttpServer({
      listen: options.httpListen,
      createServerForSession: createServer,
      authenticate: async (token) => {
        const key = keys.authenticate(token);
        return { keyId: key.id, scopes: key.scopes, key };
      },
      health: { ready: () => gateway.isConnected },
      metrics,
      resourceName: SERVER_NAME,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
      onRefused: pipeline.onHttpRefused,
    });
  } else {
    stdio = serveStdio(createServer);
  }

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await http?.close();
      stdio?.close();
      reconciler.stop();
      await gateway.close();
      await simulator?.close();
      await decisionLog?.close();
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

  return {
    gateway,
    metrics,
    url: http?.url,
    simulator,
    policyVersion: () => engine.version,
    closed,
    close,
    reload: async () => {
      const keyResult = keys.reload();
      let policiesOk = true;
      let policyProblem: string | null = null;
      try {
        const report = engine.reload();
        metrics.setPolicyVersion(engine.version);
        if (report.shadow?.problem) policyProblem = `shadow policies kept ${report.shadow.version}: ${report.shadow.problem}`;
      } catch (err) {
        policiesOk = false;
        policyProblem = describeError(err);
        log.error('policy reload failed; the running policies stay in force', { reason: policyProblem });
      }
      const ok = keyResult.ok && policiesOk;
      const reason = [keyResult.ok ? null : keyResult.error.message, policyProblem].filter(Boolean).join('; ') || null;
      await audit
        ?.append({ event: 'reload', outcome: ok ? 'success' : 'failure', reason, code: ok ? null : 'RELOAD_FAILED', policy_version: engine.version })
        .catch((err) => log.error('could not audit the reload', { error: describeError(err) }));
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
