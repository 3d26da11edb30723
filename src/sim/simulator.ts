import { createServer, type Server, type Socket } from 'node:net';
import type { RsaCipher } from '../gateway/crypto.js';
import { warmUpProtos } from '../gateway/proto.js';
import { describeError, FutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Handler, MarketEngine, TradePush, TradingEngine } from './contract.js';
import { SimConnection } from './connection.js';
import { SimFaults } from './faults.js';
import { OpenDRules } from './rules.js';
import { Session } from './session.js';
import { SubscriptionBook } from './subscriptions.js';

/**
 * The simulated OpenD process: the listener, its connections, the quote push timer, trade push
 * fan-out, and stop/restart on the same port.
 */
export type SimulatorErrorCode = 'SIM_INVALID_CONFIG' | 'SIM_LISTEN_FAILED' | 'SIM_CLOSED';

export class SimulatorError extends FutuError {
  declare readonly code: SimulatorErrorCode;
  constructor(code: SimulatorErrorCode, message: string) {
    super(code, message);
  }
}

/** OpenD refuses connections beyond this ("OpenD也限制了最多128条连接"). */
export const MAX_CONNECTIONS = 128;

export interface SimulatorConfig {
  host: string;
  port: number;
  tradePwd: string;
  rsa: RsaCipher | undefined;
  keepAliveInterval: number;
  idleTimeoutMs: number;
  subQuota: number;
  pushIntervalMs: number;
  now: () => number;
  /** Whether PlaceOrder / ModifyOrder are held to OpenD's frequency limits (see SimulatorOptions). */
  orderRateLimits: boolean;
}

export interface SimulatorHandle<M extends MarketEngine = MarketEngine, T extends TradingEngine = TradingEngine> {
  readonly host: string;
  /** The port actually bound; restart() binds it again. */
  readonly port: number;
  /** "host:port". */
  readonly address: string;
  readonly market: M;
  readonly trading: T;
  readonly faults: SimFaults;
  /** Open TCP connections, initialised or not. */
  connections(): number;
  /** Closes the listener and every connection; accounts and orders stay. */
  stop(): Promise<void>;
  /** Like an OpenD restart: listens again on the same port with no unlock and no subscriptions. */
  restart(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

function mergeHandlers(...maps: ReadonlyMap<number, Handler>[]): Map<number, Handler> {
  const merged = new Map<number, Handler>();
  for (const map of maps) for (const [id, handler] of map) {
    if (merged.has(id)) throw new SimulatorError('SIM_INVALID_CONFIG', `two engines handle protoID ${id}`);
    merged.set(id, handler);
  }
  return merged;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new SimulatorError('SIM_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export interface Engines<M extends MarketEngine, T extends TradingEngine> {
  market: M;
  trading: T;
  /** Called on every push tick, so engines that work lazily (resting orders filling) also act between requests. */
  advance?: () => void;
}

export async function launchSimulator<M extends MarketEngine, T extends TradingEngine>(
  config: SimulatorConfig,
  engines: Engines<M, T>,
): Promise<SimulatorHandle<M, T>> {
  warmUpProtos();
  const { market, trading } = engines;
  const sessions = new Map<Session, SimConnection>();
  const dropAll = (): void => {
    for (const conn of [...sessions.values()]) conn.destroy();
  };
  const faults = new SimFaults(dropAll);
  const rules = new OpenDRules({
    tradePwd: config.tradePwd,
    now: config.now,
    orderRateLimits: config.orderRateLimits,
    isAccount: (accId) => trading.accountIds().includes(accId),
  });
  const subscriptions = new SubscriptionBook(config.subQuota, market, config.now);
  const services = {
    market,
    trading,
    engineHandlers: mergeHandlers(market.handlers, trading.handlers),
    rules,
    subscriptions,
    faults,
    rsa: config.rsa,
    keepAliveInterval: config.keepAliveInterval,
    subQuota: config.subQuota,
    now: config.now,
  };

  trading.onPush((push: TradePush) => {
    // After the current request's response: clients expect the PlaceOrder answer before its updates.
    queueMicrotask(() => {
      for (const session of sessions.keys()) if (session.wantsAccount(push.accID)) session.push(push.protoId, push.s2c);
    });
  });

  const accept = (socket: Socket): void => {
    if (sessions.size >= MAX_CONNECTIONS) {
      log.warn('sim: connection refused: limit reached', { limit: MAX_CONNECTIONS, remote: socket.remoteAddress });
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const conn = new SimConnection(socket, config.idleTimeoutMs);
    const session = new Session(conn, services);
    sessions.set(session, conn);
    conn.start(
      (frame) => session.handle(frame),
      () => {
        sessions.delete(session);
        subscriptions.release(session);
      },
    );
  };

  const tick = (): void => {
    try {
      engines.advance?.();
    } catch (err) {
      log.error('sim: engine tick failed', { error: describeError(err) });
    }
    subscriptions.pushAll();
  };

  let server: Server | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let port = config.port;

  const start = async (): Promise<void> => {
    const next = createServer(accept);
    port = await listen(next, config.host, port);
    // Accept failures (e.g. out of file descriptors) must not take the process down.
    next.on('error', (err) => log.error('sim: listener error', { error: err.message }));
    server = next;
    pushTimer = setInterval(tick, config.pushIntervalMs);
    pushTimer.unref();
    log.debug('sim: listening', { address: `${config.host}:${port}`, encrypted: config.rsa !== undefined });
  };

  const stop = async (): Promise<void> => {
    clearInterval(pushTimer);
    pushTimer = undefined;
    const current = server;
    server = undefined;
    if (!current) return;
    const done = new Promise<void>((resolve) => current.close(() => resolve()));
    dropAll();
    await done;
    log.info('sim: stopped', { port });
  };

  await start();
  return {
    host: config.host,
    get port() {
      return port;
    },
    get address() {
      return `${config.host}:${port}`;
    },
    market,
    trading,
    faults,
    connections: () => sessions.size,
    stop,
    restart: async () => {
      if (closed) throw new SimulatorError('SIM_CLOSED', 'the simulator was closed');
      await stop();
      rules.restart();
      subscriptions.restart();
      await start();
    },
    close: async () => {
      closed = true;
      await stop();
    },
  };
}
