import type { FutuGateway } from './api.js';
import { GatewayError } from './errors.js';
import { TRD_MARKET } from './enums.js';
import { trdMarketFor, type MarketCode } from './symbol.js';
import type { Account, AccountRef, TrdEnvName, TrdMarketName } from './types.js';

/** How long the account list is trusted before it is fetched again. */
const ACCOUNT_LIST_TTL_MS = 60_000;

/**
 * Resolves what a tool call says about an account (an acc_id, or nothing plus a market) into the
 * AccountRef the trade API needs, from a cached Trd_GetAccList. The list changes rarely; a
 * reconnect to OpenD invalidates it.
 */
export class AccountDirectory {
  private cached: { at: number; accounts: Promise<Account[]> } | undefined;

  constructor(
    private readonly gateway: FutuGateway,
    private readonly now: () => number = Date.now,
  ) {
    gateway.on('reconnected', () => this.invalidate());
  }

  invalidate(): void {
    this.cached = undefined;
  }

  list(): Promise<Account[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at > ACCOUNT_LIST_TTL_MS) {
      const accounts = this.gateway.getAccounts();
      this.cached = { at: now, accounts };
      // A failed fetch must not be served from the cache.
      accounts.catch(() => {
        if (this.cached?.accounts === accounts) this.cached = undefined;
      });
    }
    return this.cached.accounts;
  }

  /**
   * The account for a call. With an acc_id it must exist and belong to `env`; without one, the
   * first account of `env` that trades `market` and that `usable` accepts is chosen (a call naming
   * no market and no account is ambiguous and refused). `usable` keeps the pick inside what the
   * caller may use, so a refusal never names an account the caller was not allowed to see.
   */
  async resolve(query: { accId?: string; env: TrdEnvName; market?: MarketCode; usable?: (accId: string) => boolean }): Promise<AccountRef> {
    const accounts = await this.list();
    const wanted = query.market ? tradeMarketOf(query.market, query.env) : undefined;
    if (query.accId !== undefined) {
      const account = accounts.find((a) => a.accId === query.accId);
      if (!account) throw new GatewayError('INVALID_ARGUMENT', `unknown acc_id ${query.accId}: call futu_list_accounts for the valid ids`);
      if (account.env !== query.env) {
        throw new GatewayError('INVALID_ARGUMENT', `acc_id ${query.accId} is a ${account.env} account but env is "${query.env}"`);
      }
      const trdMarket = wanted ?? firstKnownMarket(account);
      if (!account.trdMarkets.includes(trdMarket)) {
        throw new GatewayError('INVALID_ARGUMENT', `acc_id ${query.accId} cannot trade ${query.market ?? trdMarket} securities`);
      }
      return { accId: account.accId, env: query.env, trdMarket };
    }
    if (!wanted) throw new GatewayError('INVALID_ARGUMENT', 'acc_id is required: call futu_list_accounts to choose one');
    const usable = query.usable ?? (() => true);
    const account = accounts.find((a) => a.env === query.env && a.trdMarkets.includes(wanted) && usable(a.accId));
    if (!account) {
      const whose = query.usable ? ' this key may use' : '';
      throw new GatewayError('INVALID_ARGUMENT', `no ${query.env} account${whose} trades ${query.market} securities: call futu_list_accounts`);
    }
    return { accId: account.accId, env: query.env, trdMarket: wanted };
  }
}

/** The trade market an env's accounts trade a symbol market's securities in (SH/SZ: CN in simulate, HKCC for real). */
export function tradeMarketOf(market: MarketCode, env: TrdEnvName): TrdMarketName {
  const name = TRD_MARKET.name(trdMarketFor(market, env));
  if (name === 'UNKNOWN') throw new GatewayError('INVALID_ARGUMENT', `no trade market for ${market} securities`);
  return name;
}

function firstKnownMarket(account: Account): TrdMarketName {
  const market = account.trdMarkets.find((m): m is TrdMarketName => m !== 'UNKNOWN');
  if (!market) throw new GatewayError('INVALID_ARGUMENT', `acc_id ${account.accId} reports no tradable market`);
  return market;
}
