import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { CipherError, RsaCipher } from '../gateway/crypto.js';
import { MARKET_HOURS, parseInstant, runningClock, type MarketHours } from './clock.js';
import { SimMarket } from './market.js';
import { launchSimulator, SimulatorError, type SimulatorConfig, type SimulatorHandle as Handle } from './simulator.js';
import { SimTrading } from './trading.js';

/**
 * Entry point of the simulated OpenD: validates options, builds the market and trading engines,
 * and starts listening.
 */
export { SimulatorError, MAX_CONNECTIONS } from './simulator.js';
export type { FailureSpec } from './faults.js';
export { MARKET_HOURS, parseInstant, type MarketHours } from './clock.js';

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Seed of the deterministic market and trading engines; default 7. */
  seed?: number;
  /** Default '123456'. */
  tradePwd?: string;
  /** PKCS#1 PEM private key shared with clients: turns on RSA + AES encryption. */
  rsaKeyPem?: string;
  rsaKeyFile?: string;
  /** Seconds, as told to clients in InitConnect; default 10. */
  keepAliveInterval?: number;
  /** A connection that sends nothing for this long is dropped; default 30 000. */
  idleTimeoutMs?: number;
  /** Subscription slots for the whole OpenD; default 100. */
  subQuota?: number;
  /** Quote push period; default 1000. */
  pushIntervalMs?: number;
  /** Clock for market data, frequency limits and the subscription minute; default Date.now. */
  now?: () => number;
  /**
   * Where the clock starts, then advancing in real time: an ISO-8601 instant with an offset
   * ("2026-12-03T10:00:00+08:00") or a Date. Not together with `now`.
   */
  clock?: string | Date;
  /** 'always': every market in continuous trading whatever the clock says; default 'real'. */
  marketHours?: MarketHours;
  /**
   * false: PlaceOrder and ModifyOrder are not held to OpenD's per-account frequency limits
   * (15 / 20 per 30 s, 20 / 40 ms apart). For benchmarks of the trade path only, which would
   * otherwise measure nothing but those limits; default true. PacketID and unlock checks stay.
   */
  orderRateLimits?: boolean;
}

export type SimulatorHandle = Handle<SimMarket, SimTrading>;

function invalid(message: string): SimulatorError {
  return new SimulatorError('SIM_INVALID_CONFIG', message);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw invalid(`${name} must be a positive integer`);
  return value;
}

function loadRsa(options: SimulatorOptions): RsaCipher | undefined {
  if (options.rsaKeyPem !== undefined && options.rsaKeyFile !== undefined) throw invalid('give rsaKeyPem or rsaKeyFile, not both');
  try {
    if (options.rsaKeyFile !== undefined) return RsaCipher.fromPem(readFileSync(options.rsaKeyFile, 'utf8'));
    if (options.rsaKeyPem !== undefined) return RsaCipher.fromPem(options.rsaKeyPem);
    return undefined;
  } catch (err) {
    const reason = err instanceof CipherError ? err.message : (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw invalid(`RSA private key rejected: ${reason}`);
  }
}

function toConfig(options: SimulatorOptions): SimulatorConfig {
  const host = options.host ?? '127.0.0.1';
  if (isIP(host) === 0 && host !== 'localhost') throw invalid(`host must be an IP address, got "${host.slice(0, 64)}"`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid('port must be an integer from 0 to 65535');
  const tradePwd = options.tradePwd ?? '123456';
  if (tradePwd.length === 0) throw invalid('the trade password must not be empty');
  return {
    host,
    port,
    tradePwd,
    rsa: loadRsa(options),
    keepAliveInterval: positiveInteger('keepAliveInterval', options.keepAliveInterval ?? 10),
    idleTimeoutMs: positiveInteger('idleTimeoutMs', options.idleTimeoutMs ?? 30_000),
    subQuota: positiveInteger('subQuota', options.subQuota ?? 100),
    pushIntervalMs: positiveInteger('pushIntervalMs', options.pushIntervalMs ?? 1000),
    now: clockOf(options),
    orderRateLimits: options.orderRateLimits ?? true,
  };
}

function clockOf(options: SimulatorOptions): () => number {
  if (options.clock === undefined) return options.now ?? Date.now;
  if (options.now !== undefined) throw invalid('give clock or now, not both');
  const start = options.clock instanceof Date ? options.clock.getTime() : parseInstant(options.clock);
  if (start === undefined || !Number.isFinite(start)) {
    throw invalid(`clock must be an ISO-8601 instant with a time and an offset, e.g. 2026-12-03T10:00:00+08:00; got "${String(options.clock).slice(0, 64)}"`);
  }
  return runningClock(start);
}

function marketHoursOf(options: SimulatorOptions): MarketHours {
  const hours = options.marketHours ?? 'real';
  if (!MARKET_HOURS.includes(hours)) throw invalid(`marketHours must be ${MARKET_HOURS.join(' or ')}`);
  return hours;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const config = toConfig(options);
  const seed = options.seed ?? 7;
  if (!Number.isSafeInteger(seed)) throw invalid('seed must be an integer');
  const market = new SimMarket({ seed, now: config.now, marketHours: marketHoursOf(options) });
  const trading = new SimTrading({ market, seed });
  return launchSimulator(config, { market, trading, advance: () => trading.advance() });
}
