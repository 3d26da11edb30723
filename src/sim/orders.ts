import type { Account } from './accounts.js';
import type { Listing } from './catalog.js';

/** Trd_Common enums the paper-trading engine uses. */
export const TrdSide = { Buy: 1, Sell: 2 } as const;
export const OrderType = { Normal: 1, Market: 2 } as const;
export const OrderStatus = { Submitted: 5, FilledPart: 10, FilledAll: 11, CancelledPart: 14, CancelledAll: 15 } as const;
export const ModifyOrderOp = { Normal: 1, Cancel: 2 } as const;
export const TimeInForce = { DAY: 0, GTC: 1 } as const;

export interface OrderState {
  readonly orderID: string;
  readonly orderIDEx: string;
  readonly account: Account;
  readonly listing: Listing;
  readonly side: number;
  readonly orderType: number;
  qty: number;
  /** Limit price; for market orders the price it was priced against (not a limit). */
  price: number;
  fillQty: number;
  /** Sum of fill qty × price, for the average fill price. */
  fillValue: number;
  status: number;
  readonly createMs: number;
  updateMs: number;
  readonly remark?: string;
  readonly timeInForce: number;
  lastErrMsg?: string;
  /** Trades up to this instant have been matched against the order. */
  checkedUntilMs: number;
  /** A DAY order lapses at the close of its trading day; GTC orders never do. */
  readonly expiresAtMs?: number;
}

export interface FillState {
  readonly fillID: string;
  readonly fillIDEx: string;
  readonly order: OrderState;
  readonly qty: number;
  readonly price: number;
  readonly timeMs: number;
  readonly counterBroker?: readonly [number, string];
}

export function statusName(status: number): string {
  return Object.entries(OrderStatus).find(([, value]) => value === status)?.[0] ?? `status ${status}`;
}

export function isOpen(o: OrderState): boolean {
  return o.status === OrderStatus.Submitted || o.status === OrderStatus.FilledPart;
}

export function remaining(o: OrderState): number {
  return o.qty - o.fillQty;
}

export function signedQty(o: OrderState, qty: number): number {
  return o.side === TrdSide.Buy ? qty : -qty;
}
