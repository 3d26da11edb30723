import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { log } from '../../shared/log.js';

/**
 * Keyless clients cost nothing to open and, left alone, each half-sent request holds a file
 * descriptor until the process has none left for the audit log or the state files, and a
 * legitimate order then fails closed. So:
 * - a request must arrive whole in bounded time (headers, then the whole request);
 * - connections that have not yet carried an authenticated request are capped, and at the cap
 *   the OLDEST of them is closed for the new one: a slow-loris connection is old, a legitimate
 *   client authenticates within its first request and is no longer counted;
 * - all connections together are capped below the process's descriptor limit, keeping
 *   `reserveDescriptors` for the audit log, state files, keys.json and OpenD.
 */
export interface ConnectionLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxUnauthenticated: number;
  readonly reserveDescriptors: number;
  /** Upper bound of all connections; lowered to fit the descriptor limit. */
  readonly maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxUnauthenticated: 256,
  reserveDescriptors: 128,
  maxConnections: 4_096,
};

/** RLIMIT_NOFILE's soft limit (Linux /proc; elsewhere unknown). */
function descriptorLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How often the server sweeps its connections for the two timeouts (the `createServer` option
 * `connectionsCheckingInterval`): Node enforces them only then, every 30 s by default, so a
 * request could be 30 s later than its timeout; here it is at most a quarter of it.
 */
export function connectionsCheckingIntervalMs(limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.max(50, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4);
}

export interface ConnectionGuard {
  /** The socket carried an authenticated request: it no longer counts as unauthenticated. */
  authenticated(socket: Socket): void;
}

export function guardConnections(server: Server, limits: ConnectionLimits, fdLimit = descriptorLimit()): ConnectionGuard {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  const budget = fdLimit === undefined ? limits.maxConnections : Math.max(1, fdLimit - limits.reserveDescriptors);
  server.maxConnections = Math.min(limits.maxConnections, budget);
  const maxUnauthenticated = Math.max(1, Math.min(limits.maxUnauthenticated, server.maxConnections - 1));

  // Insertion order is age order: the first entry is the oldest unauthenticated connection.
  const unauthenticated = new Set<Socket>();
  let evicted = 0;
  server.on('connection', (socket: Socket) => {
    if (unauthenticated.size >= maxUnauthenticated) {
      const oldest = unauthenticated.values().next().value!;
      unauthenticated.delete(oldest);
      oldest.destroy();
      if (evicted++ % 1000 === 0) log.warn('closing the oldest unauthenticated connections to admit new ones', { cap: maxUnauthenticated, closed: evicted });
    }
    unauthenticated.add(socket);
    socket.once('close', () => unauthenticated.delete(socket));
  });
  log.info('http connection limits', { max_connections: server.maxConnections, max_unauthenticated: maxUnauthenticated, descriptor_limit: fdLimit ?? null });
  return { authenticated: (socket) => void unauthenticated.delete(socket) };
}
