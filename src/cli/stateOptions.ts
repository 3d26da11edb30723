import { Option, type Command } from 'commander';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_PREFIX, type RedisStateOptions } from '../authz/redisState.js';
import { openStateStores, type StateStores } from '../authz/stateStores.js';
import { parseTimeoutMs } from './flagValues.js';

/**
 * `--redis`, `--redis-prefix`, `--redis-timeout`: the same options on futu-mcp and on every futucli
 * command that reads or changes shared state, so an operator's command sees what the replicas see.
 */
export interface StateStoreFlags {
  readonly redis?: string;
  readonly redisPrefix?: string;
  readonly redisTimeout?: number;
}

export function addStateStoreOptions(command: Command): Command {
  return command
    .option(
      '--redis <url>',
      'keep limits and trade state in Redis, shared by every replica: redis://[user:password@]host:port[/db], or rediss://… for TLS (prefer FUTU_MCP_REDIS_PASSWORD for the password: arguments are visible in ps)',
    )
    .option('--redis-prefix <prefix>', 'namespace of every Redis key: replicas that share state use the same prefix', DEFAULT_REDIS_PREFIX)
    .addOption(
      new Option('--redis-timeout <duration>', 'Redis command timeout; a slower answer refuses the trade (e.g. 500ms, 2s)')
        .default(DEFAULT_REDIS_COMMAND_TIMEOUT_MS, '2s')
        .argParser(parseTimeoutMs),
    );
}

/** The Redis options the flags ask for (the password may come from FUTU_MCP_REDIS_PASSWORD), or none. */
export function redisOptionsOf(flags: StateStoreFlags, env: NodeJS.ProcessEnv = process.env): RedisStateOptions | undefined {
  if (flags.redis === undefined) return undefined;
  return { url: flags.redis, password: env.FUTU_MCP_REDIS_PASSWORD || undefined, prefix: flags.redisPrefix, commandTimeoutMs: flags.redisTimeout };
}

/** The stores a futucli command works on: Redis when --redis is given, else the state directory. */
export function openCliStateStores(stateDir: string, flags: StateStoreFlags): Promise<StateStores> {
  return openStateStores({ stateDir, redis: redisOptionsOf(flags) });
}
