import { FileTradeState } from './fileTradeState.js';
import { LimitsLedger } from './ledger.js';
import type { LimitsStore } from './limits.js';
import { RedisLimits } from './redisLimits.js';
import { RedisState, type RedisStateOptions } from './redisState.js';
import { RedisTradeState } from './redisTradeState.js';
import type { TradeStateStore } from './tradeState.js';

/**
 * The cross-request state of one process: the limits and the trade state, in the state
 * directory (one machine) or, with `redis`, in Redis (replicas on several machines). The state
 * directory stays this process's own either way.
 */
export interface StateStores {
  readonly kind: 'file' | 'redis';
  /** Where the state is, for messages: the directory, or Redis's address (never its password) and prefix. */
  readonly where: string;
  readonly ledger: LimitsStore;
  readonly trades: TradeStateStore;
  /** Whether limits can be checked now (the file stores: always; Redis: while it answers). */
  isUp(): boolean;
  onChange(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}

export interface StateStoreOptions {
  readonly stateDir: string;
  /** This process in the shared state (its audit records' replica id); default a new one. */
  readonly replicaId?: string;
  readonly redis?: RedisStateOptions;
}

export async function openStateStores(options: StateStoreOptions): Promise<StateStores> {
  if (!options.redis) {
    const ledger = new LimitsLedger({ stateDir: options.stateDir });
    return {
      kind: 'file',
      where: `the state directory ${options.stateDir}`,
      ledger,
      trades: new FileTradeState({ stateDir: options.stateDir, holderId: options.replicaId }),
      isUp: () => true,
      onChange: () => undefined,
      close: () => ledger.close(),
    };
  }
  const redis = new RedisState({ replicaId: options.replicaId, ...options.redis });
  await redis.start();
  return {
    kind: 'redis',
    where: `Redis ${redis.target.display} (prefix ${redis.prefix})`,
    ledger: new RedisLimits(redis),
    trades: new RedisTradeState(redis),
    isUp: () => redis.isUp,
    onChange: (listener) => redis.onChange(listener),
    close: () => redis.close(),
  };
}
