import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlidingWindow } from '../shared/slidingWindow.js';
import { GatewayError } from './errors.js';

/**
 * OpenD's frequency limits on trade writes, kept at the socket so the caller gets a clean
 * GATEWAY_RATE_LIMITED with retry_after_seconds instead of an OpenD refusal. OpenD counts on
 * arrival; a client only knows when it wrote and when the answer came. So writes of one lane (per
 * account for orders, modify and cancel sharing ModifyOrder's budget; per OpenD user for unlock)
 * go one at a time, and each is stamped when its answer (or failure) came back: OpenD received
 * it no later than that. The next write waits the minimum gap after that stamp, so two requests
 * can never reach OpenD closer than the gap, however the event loops on either side are delayed.
 * Counted in this process; several processes sharing one OpenD stay under it only together with
 * OpenD's own check.
 */
export type PacedOperation = 'place' | 'modify' | 'unlock';

export const OPEND_LIMITS: Readonly<Record<PacedOperation, { limit: number; windowMs: number; minGapMs: number }>> = {
  place: { limit: 15, windowMs: 30_000, minGapMs: 20 },
  modify: { limit: 20, windowMs: 30_000, minGapMs: 40 },
  unlock: { limit: 10, windowMs: 30_000, minGapMs: 0 },
};

/** Millisecond truncation on OpenD's side: a small margin on top of its numbers. */
const GAP_MARGIN_MS = 5;
const WINDOW_MARGIN_MS = 50;

/** What the pacer enforces: OpenD's limits with the safety margin. */
export const PACING_LIMITS: Readonly<Record<PacedOperation, { limit: number; windowMs: number; minGapMs: number }>> = Object.fromEntries(
  Object.entries(OPEND_LIMITS).map(([operation, { limit, windowMs, minGapMs }]) => [
    operation,
    { limit, windowMs: windowMs + WINDOW_MARGIN_MS, minGapMs: minGapMs === 0 ? 0 : minGapMs + GAP_MARGIN_MS },
  ]),
) as Record<PacedOperation, { limit: number; windowMs: number; minGapMs: number }>;

export interface WritePacerOptions {
  /** Waits up to this long for the window (besides the queue and the minimum gaps) instead of refusing. Default 100. */
  readonly maxWaitMs?: number;
  /** Epoch ms; tests drive it by hand. */
  readonly clock?: () => number;
  /**
   * Benchmarks against the simulator only (its orderRateLimits off): writes still go one at a
   * time per lane, but no window or minimum gap is kept, since either would be all a trade-path
   * benchmark measures. A real OpenD refuses what this lets through; futu-mcp sets it only for
   * its embedded simulator (see FutuMcpOptions.simOrderRateLimits). Default false.
   */
  readonly liftOpenDLimits?: boolean;
}

/** A write slot taken ahead (withAdmission) that the write of the same lane inside it then uses. */
interface Admission {
  readonly lane: Lane;
  used: boolean;
}

interface Lane {
  readonly operation: PacedOperation;
  readonly window: SlidingWindow;
  /** Writes admitted and not yet answered, this one's turn included. */
  queued: number;
  tail: Promise<void>;
}

export class WritePacer {
  private readonly lanes = new Map<string, Lane>();
  private readonly maxWaitMs: number;
  private readonly clock: () => number;
  private readonly enforced: boolean;
  private readonly admissions = new AsyncLocalStorage<Admission>();

  constructor(options: WritePacerOptions = {}) {
    this.maxWaitMs = options.maxWaitMs ?? 100;
    this.clock = options.clock ?? Date.now;
    this.enforced = options.liftOpenDLimits !== true;
  }

  /**
   * Runs `write` (one request to OpenD, resolved by its answer) in its lane's turn. Refuses at
   * once, without writing, when the window cannot take it soon enough.
   */
  async paced<T>(operation: PacedOperation, account: string, write: () => Promise<T>): Promise<T> {
    const lane = this.lane(operation, account);
    const admitted = this.admissions.getStore();
    if (admitted?.lane === lane && !admitted.used) {
      // Its place in the queue was taken by withAdmission.
      admitted.used = true;
    } else {
      this.admit(lane);
    }
    const previous = lane.tail;
    let done!: () => void;
    lane.tail = new Promise((resolve) => (done = resolve));
    let written = false;
    try {
      await previous;
      if (this.enforced) await this.waitForTurn(lane);
      written = true;
      return await write();
    } finally {
      // Answered or failed: OpenD has it by now, if it ever will.
      if (written && this.enforced) lane.window.record(this.clock());
      lane.queued--;
      done();
    }
  }

  /**
   * Takes a place in the lane's queue for the write `work` will make, or refuses at once
   * (GATEWAY_RATE_LIMITED) when the window cannot take it soon enough: so a caller refused by
   * the guard is refused before it records anything (the limits ledger), not after. The first
   * write of the lane inside `work` uses the place; unused, it is given back when `work` ends.
   */
  async withAdmission<T>(operation: PacedOperation, account: string, work: () => Promise<T>): Promise<T> {
    const lane = this.lane(operation, account);
    this.admit(lane);
    const admission: Admission = { lane, used: false };
    try {
      return await this.admissions.run(admission, work);
    } finally {
      if (!admission.used) lane.queued--;
    }
  }

  private admit(lane: Lane): void {
    if (this.enforced) this.refuseIfFull(lane, this.admissionWait(lane));
    lane.queued++;
  }

  /** How long until the window takes one more write behind everything already queued (0 = now). */
  private admissionWait(lane: Lane): number {
    const { limit, windowMs } = PACING_LIMITS[lane.operation];
    if (lane.queued >= limit) return windowMs;
    // Queued writes will be stamped later than any stamp now in the window: they push the
    // window's free slots back by as many.
    const stamps = lane.window.stamps(this.clock());
    const blocking = stamps.length + lane.queued - limit + 1;
    return blocking <= 0 ? 0 : Math.max(0, stamps[blocking - 1]! + windowMs - this.clock());
  }

  private async waitForTurn(lane: Lane): Promise<void> {
    for (;;) {
      const wait = lane.window.waitMs(this.clock());
      if (wait === 0) return;
      if (wait > PACING_LIMITS[lane.operation].minGapMs) this.refuseIfFull(lane, wait);
      await sleep(wait);
    }
  }

  private refuseIfFull(lane: Lane, waitMs: number): void {
    if (waitMs <= this.maxWaitMs) return;
    const { limit, windowMs } = OPEND_LIMITS[lane.operation];
    const retryAfter = Math.ceil(waitMs / 1000);
    throw new GatewayError(
      'GATEWAY_RATE_LIMITED',
      `OpenD allows ${limit} ${lane.operation} requests per ${windowMs / 1000}s; retry in ${retryAfter}s`,
      { retry_after_seconds: retryAfter },
    );
  }

  private lane(operation: PacedOperation, account: string): Lane {
    const id = operation === 'unlock' ? operation : `${operation}:${account}`;
    let lane = this.lanes.get(id);
    if (!lane) {
      const { limit, windowMs, minGapMs } = PACING_LIMITS[operation];
      lane = { operation, window: new SlidingWindow(limit, windowMs, minGapMs), queued: 0, tail: Promise.resolve() };
      this.lanes.set(id, lane);
    }
    return lane;
  }
}

/** Qot_GetSecuritySnapshot: OpenD allows 60 per 30 s per user. */
export const OPEND_SNAPSHOT_LIMIT = { limit: 60, windowMs: 30_000 } as const;
/** Snapshot requests holders' reads never take: left for valuing orders (see the app's reference prices). */
const SNAPSHOT_HEADROOM = 10;
/** Requests are stamped when sent and OpenD counts them on arrival: a generous margin on the window. */
const SNAPSHOT_WINDOW_MS = OPEND_SNAPSHOT_LIMIT.windowMs + 1_000;

/**
 * Keeps snapshot requests under OpenD's limit so that no reader can starve the server's own
 * snapshot requests (orders are valued from snapshots): holders' reads together never take the
 * last SNAPSHOT_HEADROOM requests of a window, and one holder takes at most a third of the rest.
 */
export class SnapshotBudget {
  private readonly all = new SlidingWindow(OPEND_SNAPSHOT_LIMIT.limit, SNAPSHOT_WINDOW_MS);
  private readonly byHolder = new Map<string, SlidingWindow>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Takes one request for `holder` (or for the server itself when absent), or refuses with when to retry. */
  take(holder?: string): void {
    const now = this.clock();
    const forReads = OPEND_SNAPSHOT_LIMIT.limit - SNAPSHOT_HEADROOM;
    const stamps = this.all.stamps(now);
    let wait = this.all.waitMs(now);
    let mine: SlidingWindow | undefined;
    if (holder !== undefined) {
      if (stamps.length >= forReads) wait = Math.max(wait, stamps[stamps.length - forReads]! + SNAPSHOT_WINDOW_MS - now);
      mine = this.byHolder.get(holder);
      if (!mine) this.byHolder.set(holder, (mine = new SlidingWindow(Math.floor(forReads / 3), SNAPSHOT_WINDOW_MS)));
      wait = Math.max(wait, mine.waitMs(now));
    }
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      throw new GatewayError(
        'GATEWAY_RATE_LIMITED',
        `OpenD allows ${OPEND_SNAPSHOT_LIMIT.limit} snapshot requests per ${OPEND_SNAPSHOT_LIMIT.windowMs / 1000}s, shared by every key; retry in ${retryAfter}s`,
        { retry_after_seconds: retryAfter },
      );
    }
    this.all.record(now);
    mine?.record(now);
  }
}
