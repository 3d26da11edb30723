import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { LimitsStore } from './limits.js';
import type { OrderIntent, TradeStateStore } from './tradeState.js';

/**
 * Resolves orders whose outcome is unknown: written to OpenD, but the link dropped (or OpenD did
 * not answer, or the server died) before the answer came. Each such intent is looked up at
 * OpenD by the remark tag its order carries:
 * - found: the order exists. Its value stays committed (or is committed now, when the process
 *   that reserved it died before committing), its owner is recorded, and a retry with the same
 *   client_order_id gets it as a replay;
 * - not found: it was never placed. Its committed value is refunded and the intent forgotten,
 *   so a retry places it.
 * It runs by itself: when the link comes back, at startup, and shortly after a new unknown
 * outcome. Every resolution is reported (the server audits it). One process resolves an intent
 * at a time (the intent's lock); a lookup that fails leaves it for the next round.
 */
export interface TaggedOrderLookup {
  /** The order carrying the intent's tag in its account, or undefined if OpenD has none. Throws when OpenD cannot be asked. */
  find(intent: OrderIntent): Promise<{ readonly orderId: string; readonly result: Record<string, unknown> } | undefined>;
}

export interface Resolution {
  readonly intent: OrderIntent;
  readonly resolution: 'placed' | 'not_placed';
  readonly orderId: string | null;
}

export interface ReconcilerDeps {
  readonly trades: TradeStateStore;
  readonly ledger: LimitsStore;
  readonly lookup: TaggedOrderLookup;
  readonly onResolved?: (resolution: Resolution) => Promise<void> | void;
  /** Delay of the round after a new unknown outcome (OpenD may still be answering). Default 1 s. */
  readonly retryDelayMs?: number;
}

export class OrderReconciler {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Resolves one intent if it is still unresolved. Returns the intent as it now stands: placed,
   * still unknown (OpenD could not be asked), or undefined once found not placed (forgotten).
   */
  async resolve(intent: OrderIntent): Promise<OrderIntent | undefined> {
    const { trades, ledger, lookup } = this.deps;
    return trades.withLock(`intent\0${intent.id}`, async () => {
      const current = await trades.getIntent(intent.id);
      if (!current || !(await trades.isUnresolved(current))) return current;
      const found = await lookup.find(current);
      const committed = current.state === 'unknown';
      // Still sending: its reservation was never settled (the process died, or the store failed
      // it). Settled now, once: a reservation the call did settle after all is not counted again.
      const reservation = !committed && current.reservationId !== undefined ? { keyId: current.keyId, id: current.reservationId, currency: current.currency, value: current.value } : undefined;
      if (found) {
        if (reservation) await ledger.commit(reservation);
        else if (!committed) await ledger.commitValue(current.keyId, current.currency, current.value, current.day);
        await trades.recordOwner({ env: current.env, accId: current.accId, orderId: found.orderId }, { keyId: current.keyId, tag: current.tag, day: current.day, placedAt: current.createdAt });
        const placed: OrderIntent = { ...current, state: 'placed', orderId: found.orderId, result: { ...found.result, reconciled: true } };
        if (current.clientOrderId === null) await trades.dropIntent(current.id);
        else await trades.putIntent(placed);
        await this.report({ intent: current, resolution: 'placed', orderId: found.orderId });
        return placed;
      }
      if (committed) await ledger.refund(current.keyId, current.value, current.day);
      else if (reservation) await ledger.release(reservation);
      await trades.dropIntent(current.id);
      await this.report({ intent: current, resolution: 'not_placed', orderId: null });
      return undefined;
    });
  }

  /** One round over every unresolved intent; concurrent calls share the round in progress. */
  reconcileAll(): Promise<void> {
    this.round ??= this.runRound().finally(() => (this.round = undefined));
    return this.round;
  }

  /** Schedules a round soon (a new unknown outcome: OpenD may still be processing it). */
  soon(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reconcileAll();
    }, this.deps.retryDelayMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async runRound(): Promise<void> {
    let pending: OrderIntent[];
    try {
      pending = await this.deps.trades.unresolvedIntents();
    } catch (err) {
      log.error('reconciliation: cannot list unresolved orders', { error: describeError(err) });
      return;
    }
    let left = 0;
    for (const intent of pending) {
      try {
        const after = await this.resolve(intent);
        if (after?.state === 'unknown') left++;
      } catch (err) {
        left++;
        log.warn('reconciliation: order outcome still unknown', { key_id: intent.keyId, error: describeError(err) });
      }
    }
    if (left > 0) this.soon();
  }

  private async report(resolution: Resolution): Promise<void> {
    try {
      await this.deps.onResolved?.(resolution);
    } catch (err) {
      log.error('reconciliation: could not report a resolution', { error: describeError(err) });
    }
  }
}
