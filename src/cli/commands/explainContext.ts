import { AccountDirectory } from '../../gateway/accounts.js';
import type { FutuGateway } from '../../gateway/api.js';
import { GatewayError } from '../../gateway/errors.js';
import type { Account, Order, TrdEnvName, TrdMarketName } from '../../gateway/types.js';
import type { KeyRecord } from '../../keys/types.js';
import { keyMayUseAccount } from '../../authz/principal.js';
import type { ToolContext } from '../../mcp/tools/kit.js';

/**
 * The tool context `futucli policy explain` plans a call with when no gateway is given. Planning
 * is the server's own code (the tool's authz step); only what it would read from OpenD is
 * stood in for, and every stand-in is reported as an assumption, so the reader knows which part
 * of the answer the live server could decide differently:
 * - the account list: one account of the call's env that trades every market, with the acc_id
 *   given, else the key's first allowed account, else a placeholder;
 * - the order a modify or cancel acts on: --order;
 * - the shares the account can sell: --sellable (none otherwise, so a SELL is checked as a short).
 */
export interface OfflineFacts {
  readonly key: KeyRecord;
  readonly env: TrdEnvName;
  readonly accId?: string;
  readonly order?: { readonly order_id?: string; readonly symbol: string; readonly side: string; readonly qty: number; readonly price?: number };
  readonly sellable?: number;
}

const OFFLINE_MARKETS: TrdMarketName[] = ['HK', 'US', 'CN', 'HKCC'];
const PLACEHOLDER_ACCOUNT = '1';

/** `assumptions` receives a line for each stand-in the plan actually used. */
export function offlineToolContext(facts: OfflineFacts, signal: AbortSignal, assumptions: string[]): ToolContext {
  const accId = facts.accId ?? facts.key.limits.allowed_acc_ids?.[0] ?? PLACEHOLDER_ACCOUNT;
  const account: Account = { accId, env: facts.env, trdMarkets: OFFLINE_MARKETS };
  const noGateway = (what: string) => () => {
    throw new GatewayError('GATEWAY_NOT_CONNECTED', `explain without --gateway cannot read ${what}; pass --gateway HOST:PORT to ask OpenD`);
  };
  const gateway = {
    on: () => gateway,
    getAccounts: async () => {
      if (facts.accId === undefined) {
        assumptions.push(
          facts.key.limits.allowed_acc_ids
            ? `account ${accId} (the key's first allowed account; the server picks the ${facts.env} account that trades the market)`
            : `account ${accId} (a placeholder: the key allows any account; pass --gateway or an acc_id)`,
        );
      }
      return [account];
    },
    getOrders: async (_account: unknown, query: { orderIds?: string[] }): Promise<Order[]> => {
      if (!facts.order) throw new GatewayError('INVALID_ARGUMENT', 'explain without --gateway needs --order {"symbol","side","qty","price"} for a modify or cancel');
      assumptions.push(`the order is ${JSON.stringify(facts.order)} (--order)`);
      const orderId = query.orderIds?.[0] ?? facts.order.order_id ?? '0';
      return [
        {
          orderId,
          orderIdEx: '',
          symbol: facts.order.symbol,
          name: '',
          side: facts.order.side as Order['side'],
          orderType: 'NORMAL',
          status: 'SUBMITTED',
          qty: facts.order.qty,
          ...(facts.order.price !== undefined ? { price: facts.order.price } : {}),
          createTime: '',
          updateTime: '',
        },
      ];
    },
    getPositions: async () => {
      assumptions.push(
        facts.sellable === undefined ? 'no position to sell (a SELL is checked as SELL_SHORT; pass --sellable N or --gateway)' : `${facts.sellable} shares can be sold (--sellable)`,
      );
      return facts.sellable === undefined ? [] : [{ canSellQty: facts.sellable }];
    },
    getSnapshots: noGateway('quotes'),
  } as unknown as FutuGateway;
  return { gateway, accounts: new AccountDirectory(gateway), signal, keyId: facts.key.id, accountAllowed: (id) => keyMayUseAccount(facts.key, id) };
}
