import type { Message } from '../gateway/proto.js';
import type { OrderState } from './orders.js';
import { TrdSide } from './orders.js';

/**
 * Trd_GetOrderFee: what a filled order would be charged under a typical Futu fee schedule
 * (commission, platform fee and the market's levies). The paper engine itself moves no cash for
 * fees; this is the charge OpenD would report for the same fills.
 */
/** Rounded up to the cent (never -0). */
const cents = (v: number): number => Math.max(0, Math.ceil(v * 100 - 1e-9) / 100);

function itemsOf(order: OrderState): [string, number][] {
  const value = order.fillValue;
  const qty = order.fillQty;
  if (qty === 0) return [];
  const sell = order.side !== TrdSide.Buy;
  switch (order.listing.market) {
    case 'HK':
      return [
        ['Commission', cents(Math.max(3, value * 0.0003))],
        ['Platform fee', 15],
        ['Stamp duty', Math.ceil(value * 0.001)],
        ['Trading fee', cents(Math.max(0.01, value * 0.0000565))],
        ['SFC levy', cents(Math.max(0.01, value * 0.000027))],
        ['Settlement fee', cents(Math.min(100, Math.max(2, value * 0.00002)))],
      ];
    case 'US':
      return [
        ['Commission', cents(Math.max(0.99, qty * 0.0049))],
        ['Platform fee', cents(Math.max(1, qty * 0.005))],
        ['Settlement fee', cents(qty * 0.003)],
        ...(sell ? ([['SEC fee', cents(Math.max(0.01, value * 0.0000278))], ['TAF', cents(Math.min(8.3, Math.max(0.01, qty * 0.000166)))]] as [string, number][]) : []),
      ];
    default:
      return [
        ['Commission', cents(Math.max(5, value * 0.0003))],
        ['Platform fee', 15],
        ['Transfer fee', cents(value * 0.00001)],
        ...(sell ? ([['Stamp duty', cents(value * 0.0005)]] as [string, number][]) : []),
      ];
  }
}

export function orderFeeMessage(order: OrderState): Message {
  const items = itemsOf(order);
  return {
    orderIDEx: order.orderIDEx,
    feeAmount: cents(items.reduce((sum, [, v]) => sum + v, 0)),
    feeList: items.map(([title, value]) => ({ title, value })),
  };
}
