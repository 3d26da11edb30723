import { createHash, generateKeyPairSync } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { FutuGateway, type FutuGatewayOptions } from '../../src/gateway/index.js';
import { setLogLevel, setLogSink } from '../../src/shared/log.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/sim/server.js';

/** Shared plumbing for the gateway tests. */

let keyPem: string | undefined;

/** A 1024-bit PKCS#1 PEM, the format of OpenD's rsa_private_key; generated once per process. */
export function testRsaKeyPem(): string {
  keyPem ??= generateKeyPairSync('rsa', {
    modulusLength: 1024,
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  }).privateKey;
  return keyPem;
}

/** The next emission of `event`, as its argument list; rejects after `ms`. */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<T> {
  return once(emitter, event, { signal: AbortSignal.timeout(ms) }) as Promise<T>;
}

/** The first emission of `event` whose first argument satisfies `match`; rejects after `ms`. */
export function nextMatching<T>(emitter: EventEmitter, event: string, match: (value: T) => boolean, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (value: T): void => {
      if (!match(value)) return;
      done();
      resolve(value);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no matching '${event}' within ${ms} ms`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
    };
    emitter.on(event, listener);
  });
}

/** Resolves with how the promise settled, failing if it takes longer than `ms`. */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Collects the structured log lines written while the returned handle is active. */
export function captureLogs(): { records: () => Record<string, unknown>[]; stop: () => void } {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  setLogLevel('debug');
  return {
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: () => {
      setLogSink((line) => process.stderr.write(line + '\n'));
      setLogLevel((process.env.FUTU_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'info');
    },
  };
}

export interface Transport {
  readonly name: string;
  readonly rsa: boolean;
}

/** Every sim-backed API test runs over both: plaintext, and RSA + AES-CBC. */
export const TRANSPORTS: readonly Transport[] = [
  { name: 'plaintext', rsa: false },
  { name: 'RSA + AES-CBC', rsa: true },
];

/** A clock that starts at `iso` and runs in real time: markets open, frequency limits still pass. */
export function clockFrom(iso: string): () => number {
  const offset = Date.parse(iso) - Date.now();
  return () => Date.now() + offset;
}

/** Wednesday 10:30 in Hong Kong: HK continuous trading. */
export const HK_TRADING_HOURS = '2026-11-18T02:30:00Z';

export interface Rig {
  readonly sim: SimulatorHandle;
  readonly gateway: FutuGateway;
  close(): Promise<void>;
}

export const TRADE_PWD = 'sim-pwd-2718';
export const TRADE_PWD_MD5 = createHash('md5').update(TRADE_PWD).digest('hex');

/** A simulator and a connected gateway, over the given transport. */
export async function startRig(
  transport: Transport = TRANSPORTS[0]!,
  options: { sim?: SimulatorOptions; gateway?: FutuGatewayOptions } = {},
): Promise<Rig> {
  const pem = transport.rsa ? testRsaKeyPem() : undefined;
  const sim = await startSimulator({ port: 0, seed: 11, tradePwd: TRADE_PWD, rsaKeyPem: pem, ...options.sim });
  const gateway = new FutuGateway({ port: sim.port, rsaPrivateKey: pem, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, ...options.gateway });
  try {
    await gateway.connect();
  } catch (err) {
    await gateway.close();
    await sim.close();
    throw err;
  }
  return {
    sim,
    gateway,
    close: async () => {
      await gateway.close();
      await sim.close();
    },
  };
}
