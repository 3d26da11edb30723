#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, isFutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { MARKET_HOURS, parseInstant, startSimulator, type MarketHours, type SimulatorHandle } from '../sim/server.js';
import { PACKAGE_VERSION } from '../shared/version.js';

/**
 * futu-sim: a simulated Futu OpenD on a real TCP port, for development and tests. The trade
 * password may come from FUTU_SIM_TRADE_PWD instead of the command line, where `ps` would show it.
 */
interface CliOptions {
  listen: { host: string; port: number };
  seed: number;
  tradePwd?: string;
  rsaKey?: string;
  subQuota?: number;
  pushInterval?: number;
  clock?: number;
  marketHours: MarketHours;
}

function parseListen(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:11111');
  }
  return { host, port };
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function parseClock(value: string): number {
  const ms = parseInstant(value);
  if (ms === undefined) throw new InvalidArgumentError('expected an ISO-8601 instant with a time and an offset, e.g. 2026-12-03T10:00:00+08:00');
  return ms;
}

async function run(options: CliOptions): Promise<void> {
  const handle: SimulatorHandle = await startSimulator({
    host: options.listen.host,
    port: options.listen.port,
    seed: options.seed,
    tradePwd: options.tradePwd ?? process.env.FUTU_SIM_TRADE_PWD,
    rsaKeyFile: options.rsaKey,
    subQuota: options.subQuota,
    pushIntervalMs: options.pushInterval,
    clock: options.clock === undefined ? undefined : new Date(options.clock),
    marketHours: options.marketHours,
  });
  log.info(`listening on ${handle.address}`, {
    seed: options.seed,
    encrypted: options.rsaKey !== undefined,
    clock: new Date(handle.market.now()).toISOString(),
    marketHours: options.marketHours,
  });
  const shutdown = (signal: NodeJS.Signals): void => {
    log.info('futu-sim: shutting down', { signal });
    handle.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

const DEFAULT_LISTEN = '127.0.0.1:11111';

const program = new Command('futu-sim')
  .version(PACKAGE_VERSION)
  .description('Simulated Futu OpenD speaking the real TCP protocol (deterministic market and paper trading)')
  .addOption(new Option('--listen <host:port>', 'address to listen on (port 0 picks a free one)').argParser(parseListen).default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN))
  .option('--seed <n>', 'seed of the simulated market and accounts', parseInteger, 7)
  .option('--trade-pwd <password>', 'trade password that Trd_UnlockTrade accepts (default 123456, or $FUTU_SIM_TRADE_PWD)')
  .option('--rsa-key <file>', 'PKCS#1 PEM private key: turns on RSA + AES encryption as OpenD does')
  .option('--sub-quota <n>', 'subscription quota of the whole OpenD (default 100)', parseInteger)
  .option('--push-interval <ms>', 'quote push period in milliseconds (default 1000)', parseInteger)
  .option('--clock <iso>', 'start the simulated clock at this instant (e.g. 2026-12-03T10:00:00+08:00); it then advances in real time', parseClock)
  .addOption(new Option('--market-hours <mode>', '"always": every market trades continuously whatever the clock says').choices(MARKET_HOURS).default('real'))
  .action(async (options: CliOptions) => {
    try {
      await run(options);
    } catch (err) {
      log.error('futu-sim: cannot start', { error: isFutuError(err) ? err.message : describeError(err) });
      process.exitCode = 1;
    }
  });

await program.parseAsync();
