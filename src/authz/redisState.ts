import { Redis } from 'ioredis';
import { describeError, FutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { newReplicaId } from '../shared/replicaId.js';
import { AuthzError } from './errors.js';

/**
 * The connection every shared-state store of one replica uses (RedisLimits, RedisTradeState):
 * one ioredis client, its health, and this replica's liveness in Redis.
 *
 * Fail closed: no offline queue and no resending, so a command never waits for Redis to return
 * and never runs twice; one that fails or times out (commandTimeoutMs) throws
 * STATE_STORE_UNAVAILABLE and the caller denies. The client reconnects by itself; a probe every
 * second (which also renews this replica's heartbeat key) tells when Redis answers again.
 * The password is never logged or put in an error text: errors are logged with it masked.
 */
export interface RedisStateOptions {
  /** `redis://[user[:password]@]host:port[/db]` or `rediss://…` (TLS). */
  readonly url: string;
  /** Used when the URL carries none (FUTU_MCP_REDIS_PASSWORD). */
  readonly password?: string;
  /** Namespace of every key (`--redis-prefix`). */
  readonly prefix?: string;
  readonly commandTimeoutMs?: number;
  /** How often the health probe runs and the heartbeat is renewed (default 1 s). */
  readonly probeIntervalMs?: number;
  /** This replica's id (newReplicaId), shared with its audit log; a new one when absent. */
  readonly replicaId?: string;
}

export const DEFAULT_REDIS_PREFIX = 'futu-mcp:';
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** A replica whose heartbeat is this old is gone: what it was sending is left to reconciliation. */
const HEARTBEAT_TTL_MS = 15_000;
const PREFIX_PATTERN = /^[A-Za-z0-9:_.-]{1,64}$/;

/** The user-facing refusal: the same words whatever went wrong (the cause is logged, masked). */
export const STATE_STORE_DOWN_MESSAGE = 'shared state store (Redis) unavailable: limits cannot be checked (denied)';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** The URL without its credentials, for logs and errors. */
  readonly display: string;
}

/** Parses `--redis`; an error names the URL without its credentials. */
export function parseRedisUrl(text: string, fallbackPassword?: string): RedisTarget {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  const display = url ? `${url.protocol}//${url.host}${url.pathname}` : 'the given URL';
  const invalid = (why: string) => new FutuError('INVALID_ARGUMENT', `invalid --redis ${display}: ${why}; expected redis://[user:password@]host:port[/db] or rediss://… for TLS`);
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) throw invalid('not a redis:// or rediss:// URL');
  if (!url.hostname) throw invalid('no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isSafeInteger(db) || db > 15) throw invalid('the database must be a number from 0 to 15');
  if (url.search || url.hash) throw invalid('options in the URL are not supported');
  const password = url.password ? decodeURIComponent(url.password) : fallbackPassword || undefined;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, db, tls: url.protocol === 'rediss:', username, password, display };
}

export function assertRedisPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) throw new FutuError('INVALID_ARGUMENT', `invalid --redis-prefix "${prefix}": 1-64 characters of A-Z a-z 0-9 : _ . -`);
}

/** A Lua script run with EVALSHA (ioredis falls back to EVAL once per connection). */
export interface LuaScript {
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

export class RedisState {
  /** This replica in Redis: who holds a lock or an intent, and whose heartbeat says it lives. */
  readonly replicaId: string;
  readonly target: RedisTarget;
  readonly prefix: string;
  private readonly client: Redis;
  private readonly probeIntervalMs: number;
  private readonly defined = new Set<string>();
  private up = false;
  private readonly listeners: Array<(up: boolean) => void> = [];
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RedisStateOptions) {
    this.replicaId = options.replicaId ?? newReplicaId();
    this.target = parseRedisUrl(options.url, options.password);
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    assertRedisPrefix(this.prefix);
    const timeout = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    this.probeIntervalMs = options.probeIntervalMs ?? 1_000;
    const { host, port, db, tls, username, password } = this.target;
    this.client = new Redis({
      host,
      port,
      db,
      username,
      password,
      tls: tls ? { servername: host } : undefined,
      keyPrefix: this.prefix,
      lazyConnect: true,
      commandTimeout: timeout,
      connectTimeout: timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      connectionName: 'futu-mcp',
      // CLIENT SETINFO needs Redis 7.2 and one more ACL permission: not worth either.
      disableClientInfo: true,
    });
    this.client.on('error', (err: Error) => this.down(err));
    this.client.on('close', () => this.down(undefined));
  }

  /** Connects and starts the probe. Never throws: with Redis down the replica serves reads and refuses trades. */
  async start(): Promise<void> {
    await this.client.connect().catch((err: unknown) => this.down(err));
    await this.checkHealth();
    if (!this.up) log.error('shared state store (Redis) not reachable: trades and unlocks are refused until it answers', { redis: this.target.display });
    this.probe = setInterval(() => void this.checkHealth(), this.probeIntervalMs);
    this.probe.unref();
  }

  get isUp(): boolean {
    return this.up;
  }

  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Runs commands; any failure becomes STATE_STORE_UNAVAILABLE (cause logged, masked). */
  async run<T>(work: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await work(this.client);
    } catch (err) {
      log.debug('shared state store (Redis) command failed', { error: this.mask(err) });
      this.down(err);
      throw new AuthzError('STATE_STORE_UNAVAILABLE', STATE_STORE_DOWN_MESSAGE);
    }
  }

  /** Runs a Lua script (KEYS are prefixed by the client). */
  script(client: Redis, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!this.defined.has(script.name)) {
      client.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua });
      this.defined.add(script.name);
    }
    const runner = (client as unknown as Record<string, ScriptRunner>)[script.name]!;
    return runner.call(client, ...keys, ...args);
  }

  /** Whether another replica's heartbeat is current (a replica that stopped renewing it is gone). */
  async isAlive(replicaId: string | undefined): Promise<boolean> {
    if (replicaId === undefined) return false;
    return (await this.run((c) => c.exists(heartbeatKey(replicaId)))) === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probe);
    // Whatever this replica was still sending is for the others to reconcile from now on.
    await this.client.del(heartbeatKey(this.replicaId)).catch(() => undefined);
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private async checkHealth(): Promise<void> {
    if (this.closed) return;
    try {
      await this.client.set(heartbeatKey(this.replicaId), '1', 'PX', HEARTBEAT_TTL_MS);
      this.setUp(true);
    } catch (err) {
      this.down(err);
    }
  }

  private down(err: unknown): void {
    if (this.closed) return;
    if (this.up) log.error('shared state store (Redis) down: trades and unlocks are refused until it answers again', { redis: this.target.display, error: this.mask(err) });
    this.setUp(false);
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (up) log.info('shared state store (Redis) up', { redis: this.target.display, replica: this.replicaId });
    for (const listener of this.listeners) listener(up);
  }

  private mask(err: unknown): string {
    if (err === undefined) return 'connection closed';
    const text = describeError(err);
    const { password } = this.target;
    return password ? text.split(password).join('[REDACTED]') : text;
  }
}

function heartbeatKey(replicaId: string): string {
  return `replica:${replicaId}`;
}
