import { keyMayUseAccount } from '../../authz/principal.js';
import type { FutuGateway } from '../../gateway/api.js';
import type { FillUpdate, OrderUpdate } from '../../gateway/types.js';
import type { KeyRecord } from '../../keys/types.js';
import type { PushContext, PushSource, ResourceDeclaration } from './resource.js';

const URI = 'futu://orders';

/**
 * OpenD sends order and fill pushes for one list of accounts per connection: the union of the
 * accounts of every live futu://orders subscription (each the accounts its key may use). Pushes
 * for an account one subscriber may not use reach it too, and are filtered at dispatch.
 */
class AccountPushes implements PushSource {
  private readonly bySubscription = new Map<number, readonly string[]>();
  private subscribed = '';

  async claim(subscriptionId: number, key: KeyRecord, _args: Record<string, unknown>, { gateway, accounts }: PushContext): Promise<void> {
    const usable = (await accounts.list()).filter((a) => keyMayUseAccount(key, a.accId) && (a.env === 'real' || a.env === 'simulate')).map((a) => a.accId);
    this.bySubscription.set(subscriptionId, usable);
    await this.apply(gateway);
  }

  async release(subscriptionId: number, gateway: FutuGateway): Promise<void> {
    if (this.bySubscription.delete(subscriptionId)) await this.apply(gateway);
  }

  private async apply(gateway: FutuGateway): Promise<void> {
    const union = [...new Set([...this.bySubscription.values()].flat())].sort();
    const wanted = union.join(',');
    if (wanted === this.subscribed) return;
    await gateway.subscribeAccountPush(union);
    this.subscribed = wanted;
  }
}

/** futu://orders: futu_get_orders over every account the key may use, updated by order and fill pushes. */
export function ordersResource(): ResourceDeclaration {
  return {
    name: 'orders',
    title: "Today's orders",
    description: "Today's orders of every account the key may use (futu_get_orders); subscribe to be told of order and fill updates, at most one a second.",
    uriTemplate: URI,
    scope: 'acc:read',
    tool: 'futu_get_orders',
    argsOf: (uri) => (uri === URI ? {} : undefined),
    uriOf: () => URI,
    watch: (gateway, changed) => {
      // The re-check authorizes the read of the pushed account: a foreign account is filtered.
      const onUpdate = (update: OrderUpdate | FillUpdate) => changed({ uri: URI, args: { acc_id: update.accId } });
      gateway.on('orderUpdate', onUpdate);
      gateway.on('fill', onUpdate);
      return () => {
        gateway.off('orderUpdate', onUpdate);
        gateway.off('fill', onUpdate);
      };
    },
    pushes: new AccountPushes(),
  };
}
