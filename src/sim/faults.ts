/**
 * Fault injection, so client resilience (timeouts, OpenD errors, reconnects) can be tested against
 * real sockets. Faults affect traffic from the moment they are set until `clear()`.
 */
export interface FailureSpec {
  /** Defaults to -1 (RetType_Failed). */
  retType?: number;
  retMsg: string;
  /** How many of the next requests with this protoID fail; defaults to 1. */
  count?: number;
}

export interface InjectedFailure {
  readonly retType: number;
  readonly retMsg: string;
}

const ALL_PROTOS = -1;

export class SimFaults {
  private readonly failures = new Map<number, { failure: InjectedFailure; remaining: number }>();
  private readonly delays = new Map<number, number>();

  constructor(private readonly dropAll: () => void) {}

  /** Destroys every open connection; the listener keeps accepting new ones. */
  dropConnections(): void {
    this.dropAll();
  }

  /** Holds every response (or only those of `protoId`) back for `ms`; the request still takes effect at once. 0 removes the delay. */
  delayResponses(ms: number, protoId?: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delay must be a non-negative number of milliseconds');
    const key = protoId ?? ALL_PROTOS;
    if (ms === 0) this.delays.delete(key);
    else this.delays.set(key, ms);
  }

  /** The next `count` requests with `protoId` get this failure instead of being processed. */
  failNext(protoId: number, spec: FailureSpec): void {
    const count = spec.count ?? 1;
    const retType = spec.retType ?? -1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
    if (!Number.isInteger(retType) || retType === 0) throw new RangeError('retType must be a non-zero integer');
    this.failures.set(protoId, { failure: { retType, retMsg: spec.retMsg }, remaining: count });
  }

  clear(): void {
    this.failures.clear();
    this.delays.clear();
  }

  /** Consumes one injected failure for this request, if any is pending. */
  takeFailure(protoId: number): InjectedFailure | undefined {
    const pending = this.failures.get(protoId);
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining === 0) this.failures.delete(protoId);
    return pending.failure;
  }

  delayFor(protoId: number): number {
    return this.delays.get(protoId) ?? this.delays.get(ALL_PROTOS) ?? 0;
  }
}
